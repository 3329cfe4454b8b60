import { DependencyUnavailable } from '../../domain/errors.ts'
import type { Broadcast, BroadcastListener, Subscription } from '../../domain/ports/broadcast.ts'
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
    const stub = this.#hubs.get(this.#hubs.idFromName(liveHubShard(channel, this.#shards)) as never)
    let res: Response
    try {
      res = await stub.fetch(`${HUB_ORIGIN}/subscribe?channel=${encodeURIComponent(channel)}`)
    } catch (e) {
      throw new DependencyUnavailable('redis', e)
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel()
      throw new DependencyUnavailable(
        'redis',
        new Error(`the live hub answered HTTP ${res.status}`)
      )
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    let closed = false
    this.#listeners++
    // Lives exactly as long as the subscription (the client's stream keeps the request alive).
    void (async () => {
      try {
        await readLines(reader, (line) => {
          const message = closed ? null : parseLine(line)
          if (message !== null) listener.message(message)
        })
      } catch {
        // cancelled by close(), or the hub's stream broke
      }
      if (closed) return
      closed = true
      this.#listeners--
      listener.reset()
    })()
    return {
      close: () => {
        if (closed) return
        closed = true
        this.#listeners--
        reader.cancel().catch(() => {})
      },
    }
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

/**
 * The live hub object's side: serves `GET /subscribe?channel=C` (answers once the shared
 * subscription is live, then streams C's messages as JSON lines until the client cancels or the
 * broker connection drops — then the stream ends and the Worker resets its listener) and
 * `GET /stats`. `hub` is this object's shared Broadcast (a BroadcastHub: one upstream
 * subscription, opened with the first client, closed with the last). A Durable Object shares one
 * I/O context across its concurrent requests, so one upstream stream can feed them all.
 */
export async function serveLiveHub(
  request: Request,
  hub: () => Broadcast & { readonly listeners: number; readonly connections: number }
): Promise<Response> {
  const url = new URL(request.url)
  if (url.pathname === '/stats') {
    const h = hub()
    return Response.json({
      listeners: h.listeners,
      connections: h.connections,
    } satisfies LiveHubStats)
  }
  const channel = url.searchParams.get('channel')
  if (url.pathname !== '/subscribe' || !channel) return new Response('not found', { status: 404 })
  const encoder = new TextEncoder()
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let done = false
  let subscription: Subscription | undefined
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
    },
    cancel() {
      done = true
      subscription?.close()
    },
  })
  try {
    subscription = await hub().subscribe(channel, {
      message(message) {
        if (done) return
        try {
          controller.enqueue(encoder.encode(`${JSON.stringify(message)}\n`))
        } catch {
          done = true
          subscription?.close()
        }
      },
      reset() {
        if (done) return
        done = true
        controller.close()
      },
    })
  } catch (e) {
    const status = e instanceof DependencyUnavailable ? 503 : 500
    return new Response(status === 503 ? 'broker unreachable' : 'live hub failed', { status })
  }
  if (done) subscription.close()
  return new Response(body, {
    headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' },
  })
}
