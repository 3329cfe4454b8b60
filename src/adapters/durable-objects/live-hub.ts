import { DependencyUnavailable } from '../../domain/errors.ts'
import type { Broadcast, BroadcastListener, Subscription } from '../../domain/ports/broadcast.ts'
import {
  type StockFeed,
  type StockListener,
  type StockWatch,
  saleChannel,
} from '../../domain/seckill/live.ts'
import { readLines } from '../pubsub/lines.ts'

/**
 * The part of a Durable Object namespace binding (`[[durable_objects.bindings]]` in wrangler.toml)
 * this adapter uses, declared structurally so nothing imports Cloudflare's types.
 */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown
  get(id: never): { fetch(input: string, init?: RequestInit): Promise<Response> }
}

/** Whether `value` looks like a Durable Object namespace binding. */
export function isDurableObjectNamespace(value: unknown): value is DurableObjectNamespaceLike {
  const v = value as Partial<DurableObjectNamespaceLike> | null
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.idFromName === 'function' &&
    typeof v.get === 'function'
  )
}

/** The live hub object serving `channel` among `shards` (FNV-1a of the channel name). */
export function liveHubShard(channel: string, shards: number): string {
  let h = 0x811c9dc5
  for (let i = 0; i < channel.length; i++) {
    h ^= channel.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return `live-hub-${(h >>> 0) % shards}`
}

const HUB_ORIGIN = 'https://live-hub.internal'

/** What a live hub object reports at `GET /stats` (tests, metrics). */
export interface LiveHubStats {
  /** Client streams attached now. */
  listeners: number
  /** Upstream (broker) subscriptions this object has opened since it started. */
  connections: number
  /** Sale-stream clients attached now (all sales of this object). */
  stockListeners: number
  /** Sales this object watches now: one stock poller each. */
  sales: number
  /** Stock reads (`remaining`) this object has made since it started. */
  reads: number
}

/**
 * Opens `path` on the hub object that owns `channel` and reads its body line by line until it ends
 * (then `ended` runs once) or the returned close is called (then nothing more is delivered).
 * Throws DependencyUnavailable when the object cannot be reached or refuses.
 */
async function openHubStream(
  hubs: DurableObjectNamespaceLike,
  shards: number,
  channel: string,
  path: string,
  line: (text: string) => void,
  ended: () => void
): Promise<() => void> {
  const stub = hubs.get(hubs.idFromName(liveHubShard(channel, shards)) as never)
  let res: Response
  try {
    res = await stub.fetch(`${HUB_ORIGIN}${path}`)
  } catch (e) {
    throw new DependencyUnavailable('redis', e)
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel()
    throw new DependencyUnavailable('redis', new Error(`the live hub answered HTTP ${res.status}`))
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let closed = false
  // Lives exactly as long as the stream (the client's stream keeps the request alive).
  void (async () => {
    try {
      await readLines(reader, (text) => {
        if (!closed) line(text)
      })
    } catch {
      // cancelled by close(), or the hub's stream broke
    }
    if (closed) return
    closed = true
    ended()
  })()
  return () => {
    if (closed) return
    closed = true
    reader.cancel().catch(() => {})
  }
}

/**
 * The Broadcast of a Worker request when the live hub (a Durable Object) is bound: `subscribe`
 * streams one channel from the hub object that owns it (`liveHubShard`), which holds the ONE
 * upstream subscription all its clients share. The stub's response arrives once the hub's
 * subscription is live (subscribe-then-read holds); each message is one JSON string per line;
 * the stream's end (the hub lost its broker connection, or was restarted) resets the listener.
 * Publishing goes straight to the broker (`publisher`).
 *
 * Per request (Workers cannot share a stream across requests), but it opens no broker
 * subscription of its own: the cost per client is one in-flight request to a hub object.
 */
export class DurableObjectBroadcast implements Broadcast {
  readonly #hubs: DurableObjectNamespaceLike
  readonly #shards: number
  readonly #publisher: Pick<Broadcast, 'publish'>
  #listeners = 0

  constructor(
    hubs: DurableObjectNamespaceLike,
    shards: number,
    publisher: Pick<Broadcast, 'publish'>
  ) {
    this.#hubs = hubs
    this.#shards = shards
    this.#publisher = publisher
  }

  /** Subscriptions of this request still attached (each is one stream from a hub object). */
  get listeners(): number {
    return this.#listeners
  }

  publish(channel: string, message: string): Promise<void> {
    return this.#publisher.publish(channel, message)
  }

  async subscribe(channel: string, listener: BroadcastListener): Promise<Subscription> {
    let attached = true
    const detach = () => {
      if (!attached) return false
      attached = false
      this.#listeners--
      return true
    }
    this.#listeners++
    let close: () => void
    try {
      close = await openHubStream(
        this.#hubs,
        this.#shards,
        channel,
        `/subscribe?channel=${encodeURIComponent(channel)}`,
        (line) => {
          const message = parseLine(line)
          if (message !== null) listener.message(message)
        },
        () => {
          if (detach()) listener.reset()
        }
      )
    } catch (e) {
      detach()
      throw e
    }
    return {
      close: () => {
        if (detach()) close()
      },
    }
  }
}

/**
 * The StockFeed of a Worker request when the live hub is bound: `watch` streams a sale's stock
 * changes from the hub object that owns the sale's channel (`liveHubShard("sale:<id>")`), which
 * runs ONE StockWatch per watched sale for all its viewers (one `remaining` read per interval per
 * sale, whatever the number of viewers and isolates). The stub's response arrives once the object
 * has attached the viewer (watch-then-read holds); each value is one line; the stream's end (a
 * failed read in the object, or the object restarted) is `lost`.
 */
export class DurableObjectStockFeed implements StockFeed {
  readonly #hubs: DurableObjectNamespaceLike
  readonly #shards: number

  constructor(hubs: DurableObjectNamespaceLike, shards: number) {
    this.#hubs = hubs
    this.#shards = shards
  }

  watch(voucherId: string, listener: StockListener): Promise<() => void> {
    return openHubStream(
      this.#hubs,
      this.#shards,
      saleChannel(voucherId),
      `/stock?sale=${encodeURIComponent(voucherId)}`,
      (line) => {
        const stock = Number(line)
        if (line !== '' && Number.isInteger(stock)) listener.stock(stock)
      },
      () => listener.lost()
    )
  }
}

function parseLine(line: string): string | null {
  try {
    const message = JSON.parse(line) as unknown
    return typeof message === 'string' ? message : null
  } catch {
    return null
  }
}

/** What one live hub object serves from: its shared Broadcast and its shared StockWatch. */
export interface LiveHubParts {
  /** This object's BroadcastHub: one upstream subscription, opened with the first client. */
  hub: () => Broadcast & { readonly listeners: number; readonly connections: number }
  /** This object's StockWatch: one poller per watched sale (absent: `/stock` is 404). */
  stock?: () => StockWatch
}

/**
 * The live hub object's side (a Durable Object shares one I/O context across its concurrent
 * requests, so one upstream stream, or one poller, can feed them all):
 * - `GET /subscribe?channel=C` answers once the shared subscription is live, then streams C's
 *   messages as JSON lines until the client cancels or the broker connection drops — then the
 *   stream ends and the Worker resets its listener.
 * - `GET /stock?sale=V` attaches a viewer to the object's StockWatch (one poller per watched sale,
 *   started with its first viewer and stopped with its last), then streams each new stock value as
 *   a line; a failed read ends the stream (the Worker ends the SSE stream, the browser reconnects).
 * - `GET /stats` (LiveHubStats); `GET /stats?reads=N` answers once the object has made N stock
 *   reads (tests: a window of N polls, measured on the poller itself).
 */
export async function serveLiveHub(
  request: Request,
  hub: LiveHubParts['hub'],
  stock?: LiveHubParts['stock']
): Promise<Response> {
  const url = new URL(request.url)
  if (url.pathname === '/stats') {
    const reads = Number(url.searchParams.get('reads') ?? 0)
    if (stock && Number.isSafeInteger(reads) && reads > 0) await stock().untilReads(reads)
    const h = hub()
    const s = stock?.()
    return Response.json({
      listeners: h.listeners,
      connections: h.connections,
      stockListeners: s?.listeners ?? 0,
      sales: s?.sales ?? 0,
      reads: s?.reads ?? 0,
    } satisfies LiveHubStats)
  }
  if (url.pathname === '/stock' && stock) return serveStock(url.searchParams.get('sale'), stock)
  const channel = url.searchParams.get('channel')
  if (url.pathname !== '/subscribe' || !channel) return new Response('not found', { status: 404 })
  let subscription: Subscription | undefined
  const out = lineStream(() => subscription?.close())
  try {
    subscription = await hub().subscribe(channel, {
      message: (message) => out.push(JSON.stringify(message)),
      reset: () => out.end(),
    })
  } catch (e) {
    const status = e instanceof DependencyUnavailable ? 503 : 500
    return new Response(status === 503 ? 'broker unreachable' : 'live hub failed', { status })
  }
  if (out.done) subscription.close()
  return new Response(out.body, {
    headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' },
  })
}

/** `GET /stock?sale=V`: one viewer of V on this object's StockWatch, each value as a line. */
function serveStock(sale: string | null, stock: () => StockWatch): Response {
  if (!sale) return new Response('not found', { status: 404 })
  let stop: (() => void) | undefined
  const out = lineStream(() => stop?.())
  try {
    stop = stock().watch(sale, {
      stock: (value) => out.push(String(value)),
      lost: () => out.end(),
    })
  } catch {
    return new Response('live hub failed', { status: 500 })
  }
  return new Response(out.body, {
    headers: { 'content-type': 'text/plain', 'cache-control': 'no-store' },
  })
}

/**
 * A stream of lines to one client: `push` writes a line, `end` closes the stream; `gone` runs
 * once when the client cancels it or a write fails (then nothing more is written).
 */
function lineStream(gone: () => void) {
  const encoder = new TextEncoder()
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let done = false
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
    },
    cancel() {
      if (done) return
      done = true
      gone()
    },
  })
  return {
    body,
    get done() {
      return done
    },
    push(line: string) {
      if (done) return
      try {
        controller.enqueue(encoder.encode(`${line}\n`))
      } catch {
        done = true
        gone()
      }
    },
    end() {
      if (done) return
      done = true
      controller.close()
    },
  }
}
