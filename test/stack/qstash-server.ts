/**
 * A QStash-compatible HTTP server for tests, benchmarks and `npm run stack`. The real
 * `@upstash/qstash` Client (`{ baseUrl: server.url, token: server.token, devMode: false }`) and
 * Receiver (`{ currentSigningKey, nextSigningKey }`) work against it unchanged.
 *
 * Implemented: publish / enqueue / batch, delay and not-before, retries (default backoff, an
 * `Upstash-Retry-Delay` expression, or the endpoint's `Retry-After`), 489 non-retryable,
 * deduplication by id or content, callbacks (after every attempt, as QStash does) and failure
 * callbacks, per-attempt timeouts, messages get/cancel, DLQ list/delete/retry, queues (parallelism,
 * pause) and `GET /v2/keys`. Not implemented: schedules, URL groups, flow control, `api`
 * (LLM/email) destinations, logs/events, key rotation.
 *
 * Scheduling runs on a virtual clock, `now()`: real time plus whatever `advance()` added or, with
 * `clock: 'manual'`, frozen except for `advance()`. JWT timestamps always use the wall clock, so a
 * Receiver accepts signatures however far the virtual clock has moved.
 *
 * Fault injection (`server.faults`): fail publishes (an error status, a dropped request, a dropped
 * reply) and delivery attempts (endpoint unreachable or its answer lost) on demand.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type FaultHandle,
  FaultRules,
  type FaultSchedule,
  matchesText,
  type TextPattern,
} from './faults.ts'
import {
  type AttemptResult,
  bad,
  bodyFields,
  callbackBody,
  type DlqEntry,
  decode,
  HttpError,
  messageInfo,
  type PublishSpec,
  parsePublish,
  rand,
  type StoredMessage,
  signQStashJwt,
} from './qstash-protocol.ts'
import { compileRetryDelay } from './qstash-retry-delay.ts'

export type { DlqEntry, MessageInfo } from './qstash-protocol.ts'
export { signQStashJwt } from './qstash-protocol.ts'

export interface QStashServerOptions {
  port?: number
  token?: string
  currentSigningKey?: string
  nextSigningKey?: string
  /** 'real' (default): Date.now and timers. 'manual': time only moves with advance(). */
  clock?: 'real' | 'manual'
  /** Scale for the default retry backoff min(86400, e^(2.5*n)) seconds. Default 1. */
  backoffScale?: number
  /** Max concurrent outgoing deliveries (default 32). */
  concurrency?: number
  /** Deduplication window in virtual ms (default 10 minutes). */
  dedupWindowMs?: number
}

/**
 * A publish fault (publish, enqueue and batch; a batch matches when any destination does). The
 * @upstash/qstash Client throws a QstashError(status) at once on an HTTP error (no retry) and
 * retries only network errors (its `retry` option; by default 5 retries after exp(i) * 50 ms).
 * - 'error' (default): answer `status` (default 500) without publishing.
 * - 'drop-request': destroy the connection without publishing (the client retries).
 * - 'drop-reply': publish, then destroy the connection (the client retries: a duplicate message
 *   unless the publish carries a deduplication id).
 */
export interface PublishFaultRule extends FaultSchedule {
  mode?: 'error' | 'drop-request' | 'drop-reply'
  status?: number
  /** Only publishes to a destination URL containing this text / matching this RegExp. */
  url?: TextPattern
}

/**
 * A delivery fault, per attempt (callbacks are deliveries too; tell them apart by `url`). A faulted
 * attempt counts as failed, so the message is retried or dead-lettered as usual.
 * - 'drop-request' (default): the endpoint is not called; the attempt fails as a connection error
 *   (`status` null), or as if the endpoint had answered `status` (e.g. 503) when given.
 * - 'drop-reply': the endpoint is called (its handler runs), then its answer is lost: the attempt
 *   fails as above and the message is delivered again.
 */
export interface DeliveryFaultRule extends FaultSchedule {
  mode?: 'drop-request' | 'drop-reply'
  status?: number
  url?: TextPattern
}

export interface QStashFaultStats {
  publish: { error: number; dropRequest: number; dropReply: number }
  delivery: { dropRequest: number; dropReply: number }
}

export interface QStashFaults {
  failPublishes(rule?: PublishFaultRule): FaultHandle
  failDeliveries(rule?: DeliveryFaultRule): FaultHandle
  /** Removes every rule (the counters stay). */
  clear(): void
  stats(): QStashFaultStats
  resetStats(): void
}

/** One HTTP delivery attempt. `status` is null for a connection error or timeout. */
export interface DeliveryRecord {
  messageId: string
  url: string
  method: string
  status: number | null
  error?: string
  retried: number
  /** Virtual time (ms) at which the attempt started. */
  at: number
  /** Set when a delivery fault decided this attempt's outcome. */
  fault?: 'drop-request' | 'drop-reply'
  /** The message's body, as delivered. */
  body: Uint8Array
}

export interface QStashServer {
  readonly url: string
  readonly token: string
  readonly currentSigningKey: string
  readonly nextSigningKey: string
  readonly faults: QStashFaults
  /** Current virtual time in ms. */
  now(): number
  /** Moves the clock forward (either mode) and starts every delivery that became due. */
  advance(ms: number): Promise<void>
  /** Resolves when no delivery is in flight and none is due now. */
  idle(): Promise<void>
  /** Resolves when nothing is in flight or scheduled at all; a manual clock jumps to each due time. */
  drain(): Promise<void>
  /**
   * Resolves once `ready()` holds, checked now and after every publish and delivery attempt (for
   * apps in another process: wait for the publishes their background work makes).
   */
  until(ready: () => boolean): Promise<void>
  dlq(): DlqEntry[]
  deliveries(): DeliveryRecord[]
  stats(): {
    /** HTTP publish requests answered (publish, enqueue and batch, faulted ones included). */
    publishRequests: number
    published: number
    deduplicated: number
    attempts: number
    delivered: number
    failed: number
  }
  close(): Promise<void>
}

interface Msg extends StoredMessage {
  dueAt: number
  retryDelay?: (retried: number) => number
  state: 'scheduled' | 'active' | 'waiting' | 'cancelled' | 'done'
}
interface QueueState {
  name: string
  parallelism: number
  paused: boolean
  active: number
  waiting: Msg[]
}

const DAY_MS = 86_400_000
const MAX_BODY = 10 * 1024 * 1024
const sha256 = (s: string) => createHash('sha256').update(s).digest()
const clampDelay = (ms: number) => (Number.isFinite(ms) ? Math.min(DAY_MS, Math.max(0, ms)) : 0)

export async function startQStashServer(options: QStashServerOptions = {}): Promise<QStashServer> {
  const token = options.token ?? randomBytes(24).toString('base64url')
  const currentSigningKey = options.currentSigningKey ?? rand('sig_', 14)
  const nextSigningKey = options.nextSigningKey ?? rand('sig_', 14)
  const manual = options.clock === 'manual'
  const backoffScale = options.backoffScale ?? 1
  const concurrency = Math.max(1, options.concurrency ?? 32)
  const dedupWindowMs = options.dedupWindowMs ?? 10 * 60_000
  const tokenDigest = sha256(`Bearer ${token}`)
  const manualBase = Date.now()
  let offset = 0
  const now = () => (manual ? manualBase : Date.now()) + offset

  const messages = new Map<string, Msg>() // pending or in flight
  const due: Msg[] = [] // scheduled messages, sorted by dueAt (FIFO among equals)
  const dedup = new Map<string, { messageId: string; expiresAt: number }>()
  const dlqEntries = new Map<string, { entry: DlqEntry; msg: Msg }>()
  const queues = new Map<string, QueueState>()
  const records: DeliveryRecord[] = []
  const stats = {
    publishRequests: 0,
    published: 0,
    deduplicated: 0,
    attempts: 0,
    delivered: 0,
    failed: 0,
  }
  const running = new Set<Promise<void>>()
  const waiters: { ready: () => boolean; resolve: () => void }[] = []
  const abort = new AbortController()
  const publishFaults = new FaultRules<PublishFaultRule, string[]>((rule, urls) =>
    urls.some((url) => matchesText(rule.url, url))
  )
  const deliveryFaults = new FaultRules<DeliveryFaultRule, string>((rule, url) =>
    matchesText(rule.url, url)
  )
  const newFaultStats = (): QStashFaultStats => ({
    publish: { error: 0, dropRequest: 0, dropReply: 0 },
    delivery: { dropRequest: 0, dropReply: 0 },
  })
  const faultStats = newFaultStats()
  /** Thrown by a 'drop-request' publish fault: the connection is destroyed, nothing published. */
  const dropConnection = Symbol('drop connection')
  let inFlight = 0
  let closed = false
  let timer: NodeJS.Timeout | undefined
  let timerDue = Number.POSITIVE_INFINITY

  const isIdle = () => inFlight === 0 && !(due.length > 0 && due[0]!.dueAt <= now())
  const settle = () => {
    for (const w of waiters.filter((w) => closed || w.ready())) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve()
    }
  }
  const waitFor = (ready: () => boolean) =>
    new Promise<void>((resolve) => {
      waiters.push({ ready, resolve })
      settle()
    })

  function schedule(msg: Msg, dueAt: number) {
    msg.state = 'scheduled'
    msg.dueAt = dueAt
    let lo = 0
    let hi = due.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (due[mid]!.dueAt <= dueAt) lo = mid + 1
      else hi = mid
    }
    due.splice(lo, 0, msg)
  }

  const queueOf = (name: string): QueueState => {
    const q = queues.get(name) ?? { name, parallelism: 1, paused: false, active: 0, waiting: [] }
    queues.set(name, q)
    return q
  }
  function releaseQueue(q: QueueState) {
    for (
      let free = q.paused ? 0 : q.parallelism - q.active;
      free > 0 && q.waiting.length > 0;
      free--
    ) {
      const m = q.waiting.shift()!
      schedule(m, m.dueAt)
    }
  }

  /** Starts every due delivery the concurrency limit allows, re-arms the timer, wakes waiters. */
  function pump() {
    if (closed) return
    const t = now()
    while (inFlight < concurrency && due.length > 0 && due[0]!.dueAt <= t) {
      const msg = due.shift()!
      const q = msg.queue === undefined ? undefined : queueOf(msg.queue)
      if (q && (q.paused || q.active >= q.parallelism)) {
        msg.state = 'waiting'
        q.waiting.push(msg)
        continue
      }
      if (q) q.active++
      const p = attempt(msg).catch((e) => console.error('[qstash-server] delivery bug', e))
      running.add(p)
      void p.finally(() => running.delete(p))
    }
    const next = due[0]?.dueAt
    if (!manual && next !== undefined && next !== timerDue) {
      clearTimeout(timer)
      timerDue = next
      const fire = () => {
        timerDue = Number.POSITIVE_INFINITY
        pump()
      }
      timer = setTimeout(fire, Math.min(Math.max(0, next - t), 2 ** 31 - 1))
    }
    settle()
  }

  async function attempt(msg: Msg) {
    inFlight++
    msg.state = 'active'
    const { id: messageId, url, method, retried } = msg
    const at = now()
    const r: AttemptResult = { status: null, header: {}, body: Buffer.alloc(0) }
    const fault = deliveryFaults.fire(url)
    const mode = fault ? (fault.mode ?? 'drop-request') : undefined
    try {
      if (mode === 'drop-request') throw new Error('the endpoint was not called')
      const signature = await signQStashJwt(currentSigningKey, { sub: url, body: msg.body })
      const res = await fetch(url, {
        method,
        headers: {
          ...msg.headers,
          'upstash-signature': signature,
          'upstash-message-id': messageId,
          'upstash-retried': String(retried),
          'upstash-caller-ip': '127.0.0.1',
          'user-agent': 'Upstash-QStash',
        },
        body: method === 'GET' || method === 'HEAD' ? undefined : new Uint8Array(msg.body),
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(msg.opts.timeoutMs)]),
      })
      r.status = res.status
      res.headers.forEach((v, k) => {
        r.header[k] = [v]
      })
      r.body = Buffer.from(await res.arrayBuffer())
    } catch (e) {
      r.status = null
      r.error = (e as Error).message
    }
    if (fault) {
      faultStats.delivery[mode === 'drop-reply' ? 'dropReply' : 'dropRequest']++
      Object.assign(r, { status: fault.status ?? null, header: {}, body: Buffer.alloc(0) })
      r.error = `injected fault: ${mode}`
    }
    inFlight--
    if (closed) return
    stats.attempts++
    records.push({
      messageId,
      url,
      method,
      status: r.status,
      retried,
      at,
      body: msg.body,
      ...(r.error && { error: r.error }),
      ...(mode && { fault: mode }),
    })
    finish(msg, r)
    const q = msg.queue === undefined ? undefined : queues.get(msg.queue)
    if (q) {
      q.active = Math.max(0, q.active - 1)
      releaseQueue(q)
    }
    pump()
  }

  function finish(msg: Msg, r: AttemptResult) {
    if (msg.state === 'cancelled') return
    if (msg.callback) spawn(msg.callback, callbackBody(msg, r))
    if (r.status !== null && r.status >= 200 && r.status < 300) {
      stats.delivered++
      msg.state = 'done'
      messages.delete(msg.id)
    } else if (
      (r.status === 489 && r.header['upstash-nonretryable-error']?.[0] === 'true') ||
      msg.retried >= msg.opts.retries
    ) {
      toDlq(msg, r)
    } else {
      msg.retried++
      schedule(msg, now() + retryDelayMs(msg, r))
    }
  }

  function retryDelayMs(msg: Msg, r: AttemptResult): number {
    const retryAfter = r.header['retry-after']?.[0]?.trim()
    if (retryAfter && /^\d+$/.test(retryAfter)) return clampDelay(Number(retryAfter) * 1000)
    if (retryAfter && !Number.isNaN(Date.parse(retryAfter))) {
      return clampDelay(Date.parse(retryAfter) - Date.now())
    }
    // the expression's `retried` is 0 for the first retry; the default backoff's n starts at 1 (12 s)
    if (msg.retryDelay) return clampDelay(msg.retryDelay(msg.retried - 1))
    return Math.min(86_400, Math.exp(2.5 * msg.retried)) * 1000 * backoffScale
  }

  function toDlq(msg: Msg, r: AttemptResult) {
    stats.failed++
    msg.state = 'done'
    messages.delete(msg.id)
    const entry: DlqEntry = {
      ...messageInfo(msg),
      dlqId: rand('dlq_'),
      ...(r.status !== null && { responseStatus: r.status }),
      responseHeader: r.header,
      ...bodyFields(r.body, 'responseBody'),
    }
    dlqEntries.set(entry.dlqId, { entry, msg })
    if (msg.failureCallback) spawn(msg.failureCallback, callbackBody(msg, r, entry.dlqId))
  }

  function spawn(target: NonNullable<PublishSpec['callback']>, body: string) {
    const { url, opts } = target
    const headers = { ...opts.forward, 'content-type': 'application/json' }
    create({ url, method: opts.method, headers, body: Buffer.from(body), opts })
  }

  function create(spec: PublishSpec): Msg {
    const t = now()
    const notBefore = spec.opts.notBefore ?? t + spec.opts.delayMs
    const msg: Msg = {
      ...spec,
      id: rand('msg_'),
      createdAt: t,
      notBefore,
      retried: 0,
      dueAt: 0,
      state: 'scheduled',
    }
    if (spec.opts.retryDelay !== undefined) msg.retryDelay = compileRetryDelay(spec.opts.retryDelay)
    if (spec.queue !== undefined) queueOf(spec.queue) // enqueue creates the queue
    messages.set(msg.id, msg)
    schedule(msg, notBefore)
    return msg
  }

  function publish(spec: PublishSpec): { messageId: string; deduplicated?: boolean } {
    const seen = spec.dedupKey === undefined ? undefined : dedup.get(spec.dedupKey)
    if (seen && seen.expiresAt > now()) {
      stats.deduplicated++
      return { messageId: seen.messageId, deduplicated: true }
    }
    const { id } = create(spec)
    stats.published++
    if (spec.dedupKey) dedup.set(spec.dedupKey, { messageId: id, expiresAt: now() + dedupWindowMs })
    return { messageId: id }
  }

  /** Asks the publish fault rules before publishing `specs`; true = drop the reply afterwards. */
  function publishFault(specs: PublishSpec[]): boolean {
    const fault = publishFaults.empty ? undefined : publishFaults.fire(specs.map((s) => s.url))
    const mode = fault ? (fault.mode ?? 'error') : undefined
    if (mode === 'error') {
      faultStats.publish.error++
      throw new HttpError(fault!.status ?? 500, 'injected fault: publish failed')
    }
    if (mode === 'drop-request') {
      faultStats.publish.dropRequest++
      throw dropConnection
    }
    if (mode === 'drop-reply') faultStats.publish.dropReply++
    return mode === 'drop-reply'
  }

  function cancel(id: string): boolean {
    const m = messages.get(id)
    if (!m) return false
    const list =
      m.state === 'scheduled' ? due : m.state === 'waiting' ? queueOf(m.queue!).waiting : []
    if (list.includes(m)) list.splice(list.indexOf(m), 1)
    m.state = 'cancelled'
    messages.delete(id)
    return true
  }

  function selectDlq(params: URLSearchParams): DlqEntry[] {
    const ids = params.getAll('dlqIds')
    const fields = ['messageId', 'url', 'queueName', 'label'] as const
    return [...dlqEntries.values()]
      .map((d) => d.entry)
      .filter((e) => ids.length === 0 || ids.includes(e.dlqId))
      .filter((e) => fields.every((f) => !params.has(f) || params.get(f) === String(e[f] ?? '')))
  }

  function retryFromDlq(e: DlqEntry): { messageId: string } {
    const { msg } = dlqEntries.get(e.dlqId)!
    dlqEntries.delete(e.dlqId)
    stats.published++
    return {
      messageId: create({ ...msg, opts: { ...msg.opts, delayMs: 0, notBefore: undefined } }).id,
    }
  }

  function route(
    method: string,
    raw: string,
    h: Record<string, string>,
    body: Buffer
  ): [number, unknown, dropReply?: boolean] {
    const { pathname: path, searchParams: query } = new URL(raw, 'http://qstash.local')
    const seg = path.startsWith('/v2/') ? path.split('/').slice(2).map(decode) : []
    const is = (verb: string, resource: string, n: number) =>
      method === verb && seg[0] === resource && seg.length === n
    const notFound = (what: string): [number, unknown] => [404, { error: `${what} not found` }]
    const json = (): unknown => {
      try {
        return JSON.parse(body.toString('utf8'))
      } catch {
        return bad('invalid JSON body')
      }
    }
    if (method === 'POST' && /^\/v2\/(publish|enqueue|batch)\b/.test(raw)) stats.publishRequests++
    if (method === 'POST' && raw.startsWith('/v2/publish/')) {
      const spec = parsePublish(raw.slice('/v2/publish/'.length), h, body)
      const drop = publishFault([spec])
      return [201, publish(spec), drop]
    }
    if (method === 'POST' && raw.startsWith('/v2/enqueue/')) {
      const rest = raw.slice('/v2/enqueue/'.length)
      const slash = rest.indexOf('/')
      if (slash <= 0) bad('expected /v2/enqueue/<queue>/<destination>')
      const spec = parsePublish(rest.slice(slash + 1), h, body, decode(rest.slice(0, slash)))
      const drop = publishFault([spec])
      return [201, publish(spec), drop]
    }
    if (is('POST', 'batch', 1)) {
      const items = json()
      if (!Array.isArray(items)) bad('batch body must be a JSON array')
      const specs = (items as Record<string, unknown>[]).map((it) => {
        if (typeof it?.destination !== 'string') bad('every batch item needs a destination')
        const hs: Record<string, string> = {}
        for (const [k, v] of Object.entries(it.headers ?? {})) hs[k.toLowerCase()] = String(v)
        const text = typeof it.body === 'string' ? it.body : ''
        const queue = typeof it.queue === 'string' ? it.queue : undefined
        return parsePublish(it.destination as string, hs, Buffer.from(text), queue)
      })
      const drop = publishFault(specs)
      return [201, specs.map((s) => ({ ...publish(s), url: s.url })), drop]
    }
    if (is('GET', 'keys', 1)) return [200, { current: currentSigningKey, next: nextSigningKey }]
    if (is('GET', 'messages', 2)) {
      const m = messages.get(seg[1]!)
      return m ? [200, messageInfo(m)] : notFound('message')
    }
    if (is('DELETE', 'messages', 2))
      return cancel(seg[1]!) ? [200, { cancelled: 1 }] : notFound('message')
    if (is('DELETE', 'messages', 1)) {
      const ids = query.getAll('messageIds')
      return [
        200,
        { cancelled: (ids.length > 0 ? ids : [...messages.keys()]).filter(cancel).length },
      ]
    }
    if (is('GET', 'dlq', 1)) {
      const all = selectDlq(query)
      const start = Number(query.get('cursor')) || 0
      const end = start + (Number(query.get('count')) || 100)
      return [
        200,
        { messages: all.slice(start, end), ...(end < all.length && { cursor: String(end) }) },
      ]
    }
    if (is('DELETE', 'dlq', 2))
      return dlqEntries.delete(seg[1]!) ? [200, { deleted: 1 }] : notFound('dlq message')
    if (is('DELETE', 'dlq', 1)) {
      return [200, { deleted: selectDlq(query).filter((e) => dlqEntries.delete(e.dlqId)).length }]
    }
    if (is('POST', 'dlq', 2) && seg[1] === 'retry') {
      return [201, { responses: selectDlq(query).map(retryFromDlq) }]
    }
    if (is('POST', 'dlq', 3) && seg[1] === 'retry') {
      const found = dlqEntries.get(seg[2]!)
      return found ? [201, retryFromDlq(found.entry)] : notFound('dlq message')
    }
    if (is('POST', 'queues', 1)) {
      const b = json() as { queueName?: unknown; parallelism?: unknown; paused?: unknown } | null
      if (typeof b?.queueName !== 'string' || b.queueName === '') bad('queueName is required')
      const q = queueOf(b!.queueName as string)
      q.parallelism = Math.max(1, Math.floor(Number(b!.parallelism ?? 1)) || 1)
      q.paused = b!.paused === true
      releaseQueue(q)
      return [200, {}]
    }
    const lag = (q: QueueState) => [...messages.values()].filter((m) => m.queue === q.name).length
    const queueJson = ({ name, parallelism, paused }: QueueState) => ({ name, parallelism, paused })
    if (is('GET', 'queues', 1))
      return [200, [...queues.values()].map((q) => ({ ...queueJson(q), lag: lag(q) }))]
    const q = seg[0] === 'queues' && seg.length >= 2 ? queues.get(seg[1]!) : undefined
    if (q && is('GET', 'queues', 2)) return [200, { ...queueJson(q), lag: lag(q) }]
    if (q && is('DELETE', 'queues', 2)) {
      for (const m of [...messages.values()]) if (m.queue === q.name) cancel(m.id)
      queues.delete(q.name)
      return [200, {}]
    }
    if (q && is('POST', 'queues', 3) && (seg[2] === 'pause' || seg[2] === 'resume')) {
      q.paused = seg[2] === 'pause'
      releaseQueue(q)
      return [200, {}]
    }
    if (seg[0] === 'queues') return notFound('queue')
    return [404, { error: `not implemented by the local QStash server: ${method} ${path}` }]
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const send = (status: number, payload: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload))
    try {
      // constant-time comparison of equal-length digests
      if (!timingSafeEqual(sha256(req.headers.authorization ?? ''), tokenDigest)) {
        return send(401, { error: 'invalid or missing token' })
      }
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length
        if (size > MAX_BODY) return send(413, { error: 'request body too large' })
        chunks.push(chunk)
      }
      const h: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) h[k] = String(v)
      const [status, payload, dropReply] = route(
        req.method ?? 'GET',
        req.url ?? '/',
        h,
        Buffer.concat(chunks)
      )
      if (dropReply) req.socket.destroy()
      else send(status, payload)
      pump()
    } catch (e) {
      if (e === dropConnection) return void req.socket.destroy()
      if (res.headersSent) return
      if (e instanceof HttpError) return send(e.status, { error: e.message })
      console.error('[qstash-server]', e)
      send(500, { error: (e as Error).message })
    }
  }

  const server = createServer((req, res) => void handle(req, res))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    currentSigningKey,
    nextSigningKey,
    now,
    async advance(ms: number) {
      if (!(ms >= 0)) throw new Error('advance(ms) needs ms >= 0')
      offset += ms
      pump()
    },
    idle: () => waitFor(isIdle),
    until: (ready) => waitFor(ready),
    async drain() {
      for (;;) {
        await waitFor(manual ? isIdle : () => isIdle() && due.length === 0)
        const next = due[0]
        if (!next || closed) return
        offset += Math.max(0, next.dueAt - now()) // manual clock only: jump to the next due time
        pump()
      }
    },
    faults: {
      failPublishes: (rule = {}) => publishFaults.add(rule),
      failDeliveries: (rule = {}) => deliveryFaults.add(rule),
      clear: () => {
        publishFaults.clear()
        deliveryFaults.clear()
      },
      stats: () => structuredClone(faultStats),
      resetStats: () => Object.assign(faultStats, newFaultStats()),
    },
    dlq: () => [...dlqEntries.values()].map((d) => d.entry),
    deliveries: () => [...records],
    stats: () => ({ ...stats }),
    async close() {
      if (closed) return
      closed = true
      clearTimeout(timer)
      abort.abort()
      settle()
      await Promise.allSettled([...running])
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
