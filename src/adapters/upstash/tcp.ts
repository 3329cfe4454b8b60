/**
 * The TCP transport for every Upstash adapter (Node, Bun, Deno): `@upstash/redis`'s `Redis` with a
 * custom requester that runs its request bodies as RESP over node-redis connections, through the
 * same translation the gateway stand-in uses (./resp.ts). The adapters, `evalLua` and
 * `@upstash/ratelimit` keep working unchanged; on the wire there is only RESP (no HTTP, JSON or
 * base64). Auto-pipelining is off here: node-redis already writes every command issued in the same
 * tick as one batch, so the SDK's batching would only add work.
 *
 * REDIS_URL forms: `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS), and a cluster from its
 * seed nodes, `redis+cluster://[user:pass@]h1:p1,h2:p2` / `rediss+cluster://…` (or any single URL
 * with REDIS_CLUSTER=1). On a cluster every command is routed by its first key (EVAL/EVALSHA: by
 * KEYS[1]); a multi-exec goes to the node owning its first key's slot (all its keys must share one
 * slot, as in Redis). During resharding, MOVED/ASK are followed by node-redis for commands and
 * multi-execs alike, and TRYAGAIN is retried here (`retryTryAgain`): no redirection reaches users.
 *
 * Node-only: never imported by the Worker bundle (the Node entry hands `openTcpRedis` to the
 * composition root).
 */
import { errors, type Requester, type UpstashRequest } from '@upstash/redis'
import { createClient, createCluster, ErrorReply, MultiErrorReply } from 'redis'
import { BroadcastHub, type Firehose } from '../pubsub/hub.ts'
import { type Redis, redisCall } from './client.ts'
import { redisOnRequester } from './requester-redis.ts'
import {
  type Reply,
  RequestError,
  type RespConnection,
  RespTranslator,
  transactionOn,
} from './resp.ts'

export interface RedisTcpConfig {
  /** REDIS_URL */
  url: string
  /** REDIS_CLUSTER=1, or implied by a `+cluster` scheme. */
  cluster?: boolean
  /** Cluster only: how long a command retries TRYAGAIN (slot mid-migration), ms; default 5000. */
  tryAgainMs?: number
}

export interface TcpRedis {
  /** JSON-deserializing replies (the SDK default), like `createUpstashRedis(config)`. */
  redis: Redis
  /** Raw replies, like `createUpstashRedis({ ...config, rawReplies: true })`. */
  raw: Redis
  /** 'redis' or 'redis-cluster' (for /health). */
  kind: 'redis' | 'redis-cluster'
  /** Live events: one hub per call, over ONE `PSUBSCRIBE <prefix>ev:*` connection while in use. */
  broadcast(keyPrefix: string): BroadcastHub
  ping(): Promise<void>
  close(): Promise<void>
}

export interface ParsedRedisUrl {
  cluster: boolean
  /** One `redis://` or `rediss://` URL per seed node (credentials and db included). */
  nodes: string[]
}

/** Parses REDIS_URL (see the module comment); throws with a message naming the problem. */
export function parseRedisUrl(url: string, cluster = false): ParsedRedisUrl {
  const m = /^(rediss?)(\+cluster)?:\/\/(?:([^@/]*)@)?([^/?#]+)(.*)$/.exec(url.trim())
  if (!m) throw new Error('REDIS_URL: expected redis://, rediss:// or redis+cluster://host:port,…')
  const [, scheme, plus, auth, hosts, rest] = m
  const nodes = hosts!.split(',').map((host) => {
    if (!/^(\[[0-9a-f:.]+\]|[^:[\]]+)(:\d+)?$/i.test(host)) {
      throw new Error(`REDIS_URL: invalid host '${host}'`)
    }
    return `${scheme}://${auth ? `${auth}@` : ''}${host}${rest}`
  })
  const isCluster = cluster || Boolean(plus) || nodes.length > 1
  return { cluster: isCluster, nodes }
}

// Commands whose first argument is not a key (routed to any node on a cluster).
// PUBLISH is not here: it reaches every node's subscribers from any node, but only messages sent
// through ONE node keep their order (two nodes forward over separate bus links), so it is routed by
// its channel — one channel's events (an order's states) arrive in the order they were published
// (node-redis itself would pick any node: see `connect`).
const KEYLESS = new Set([
  ...['ping', 'echo', 'script', 'time', 'info', 'dbsize', 'function', 'command', 'client'],
  ...['config', 'cluster', 'randomkey', 'keys', 'scan', 'flushall', 'flushdb'],
])

/** The key a command is routed by on a cluster (undefined: any node). */
export function routingKey(args: readonly string[]): string | undefined {
  const name = args[0]!.toLowerCase()
  if (name.startsWith('eval') || name.startsWith('fcall')) {
    return Number(args[2]) > 0 ? args[3] : undefined
  }
  if (name === 'bitop') return args[2]
  return KEYLESS.has(name) ? undefined : args[1]
}

const reconnectStrategy = (retries: number) => Math.min(50 * 2 ** retries, 1000)

/** How long a command may go unanswered before it fails (node-redis's default command timeout). */
export const COMMAND_TIMEOUT_MS = 5000

/** A command that got no reply within its deadline (the caller answers 503, like a lost link). */
export class CommandTimeoutError extends Error {
  override name = 'TimeoutError'
}

/**
 * Bounds every command's wait with ONE coarse timer instead of node-redis's per-command
 * `AbortSignal.timeout` (a timer, an abort listener and a DOMException per command, a few % of the
 * hot path's CPU): a sweep every `ms / 5` fails the commands older than `ms` (so after `ms` to
 * `1.2 × ms`). The timer runs only while commands are pending and never keeps the process alive.
 */
export function withDeadline<A extends unknown[], T>(
  send: (...args: A) => Promise<T>,
  ms: number
): (...args: A) => Promise<T> {
  // Insertion order = deadline order (every entry gets the same `ms`).
  const pending = new Set<{ at: number; reject(e: Error): void }>()
  let timer: ReturnType<typeof setInterval> | undefined
  const sweep = () => {
    const now = performance.now()
    for (const entry of pending) {
      if (entry.at > now) break
      pending.delete(entry)
      entry.reject(new CommandTimeoutError(`Redis did not answer within ${ms} ms`))
    }
    if (pending.size === 0) {
      clearInterval(timer)
      timer = undefined
    }
  }
  return (...args) =>
    new Promise<T>((resolve, reject) => {
      const entry = { at: performance.now() + ms, reject }
      pending.add(entry)
      if (!timer) {
        timer = setInterval(sweep, ms / 5)
        ;(timer as { unref?: () => void }).unref?.()
      }
      send(...args).then(
        (value) => {
          pending.delete(entry)
          resolve(value)
        },
        (e: unknown) => {
          pending.delete(entry)
          reject(e)
        }
      )
    })
}

/**
 * Connects, waiting for the first attempt only: if Redis is down we still start (and answer 503
 * while the client keeps reconnecting). Also used by the gateway stand-in.
 */
export async function firstAttempt(client: {
  connect(): Promise<unknown>
  once(e: 'error', l: () => void): unknown
  off(e: 'error', l: () => void): unknown
}): Promise<void> {
  const connecting = client.connect()
  connecting.catch(() => {}) // rejects only if destroyed before ever connecting
  await new Promise<void>((resolve) => {
    const done = () => {
      client.off('error', done)
      resolve()
    }
    client.once('error', done)
    connecting.then(done, done)
  })
}

async function connect(
  parsed: ParsedRedisUrl,
  tryAgainMs = TRY_AGAIN_MS
): Promise<{ conn: RespConnection; close(): Promise<void> }> {
  // disableOfflineQueue: while Redis is unreachable commands fail at once (→ 503) instead of
  // queueing; the client keeps reconnecting in the background.
  const socket = { reconnectStrategy, connectTimeout: 5000 }
  // Command deadlines are ours (`withDeadline`), not node-redis's per-command timers.
  const commandOptions = { timeout: 0 }
  if (!parsed.cluster) {
    const client = createClient({
      url: parsed.nodes[0]!,
      RESP: 2,
      disableOfflineQueue: true,
      socket,
      commandOptions,
    })
    client.on('error', () => {}) // surfaced per command; an unhandled 'error' would crash
    await firstAttempt(client)
    const send = withDeadline(
      (args: string[]) => client.sendCommand(args) as Promise<Reply>,
      COMMAND_TIMEOUT_MS
    )
    return {
      conn: { send, transaction: (commands) => transactionOn(send, commands) },
      close: async () => {
        if (client.isOpen) await client.close()
        else client.destroy()
      },
    }
  }
  const first = new URL(parsed.nodes[0]!)
  const cluster = createCluster({
    rootNodes: parsed.nodes.map((url) => ({ url })),
    RESP: 2,
    commandOptions,
    defaults: {
      disableOfflineQueue: true,
      socket: { ...socket, ...(first.protocol === 'rediss:' ? { tls: true as const } : {}) },
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
    },
  })
  cluster.on('error', () => {})
  await cluster.connect()
  // node-redis follows MOVED (refreshing its slot map) and ASK (ASKING + the command, one chain)
  // for single commands and for MULTI/EXEC; TRYAGAIN is ours to retry (see `retryTryAgain`).
  // Its per-command timers are off (`commandOptions`): one deadline sweep covers every call.
  const sendOnce = withDeadline(async (args: string[]): Promise<Reply> => {
    // node-redis sends PUBLISH (keyless in its command table) to any node, whatever key it is
    // given: one channel is pinned to the node of its slot instead (see KEYLESS).
    if (args[0]!.toLowerCase() === 'publish') {
      const node = await cluster.getNodeClientForKey(args[1]!)
      return (await node.sendCommand(args, commandOptions)) as Reply
    }
    return (await cluster.sendCommand(routingKey(args), false, args)) as Reply
  }, COMMAND_TIMEOUT_MS)
  // The hot path stays one promise; only a TRYAGAIN enters the retry loop.
  const send = (args: string[]) =>
    sendOnce(args).catch((e: unknown) =>
      isTryAgain(e) ? retryTryAgain(() => sendOnce(args), tryAgainMs) : Promise.reject(e)
    )
  const execOnce = withDeadline(async (commands: string[][]): Promise<Reply> => {
    const multi = cluster.multi(commands.map(routingKey).find((k) => k !== undefined))
    for (const args of commands) multi.addCommand(undefined, false, args)
    try {
      return (await multi.exec()) as unknown as Reply
    } catch (e) {
      // EXEC ran; some commands failed at run time: keep their replies, as on one node.
      if (e instanceof MultiErrorReply) return e.replies as Reply[]
      throw e
    }
  }, COMMAND_TIMEOUT_MS)
  return {
    conn: {
      send,
      transaction: (commands) => retryTryAgain(() => execOnce(commands), tryAgainMs),
    },
    close: () => cluster.close(),
  }
}

/** How long a command keeps retrying TRYAGAIN (its slot is mid-migration), by default. */
const TRY_AGAIN_MS = 5000

const isTryAgain = (e: unknown) => e instanceof ErrorReply && e.message.startsWith('TRYAGAIN')

/**
 * Runs `run` again while Redis answers TRYAGAIN, backing off from 5 ms to 200 ms, for at most
 * `budgetMs`; then the TRYAGAIN surfaces (→ `DependencyUnavailable`, 503). A multi-key command
 * (most lua/ scripts, a MULTI/EXEC over several keys) gets TRYAGAIN while its slot migrates and
 * some of its keys already moved: Redis ran NOTHING, so retrying can never apply it twice. The
 * same holds for a MULTI/EXEC refused at EXEC by MOVED/ASK (discarded) — node-redis retries those
 * itself, and never retries after a lost reply (a socket error is not an error reply).
 */
async function retryTryAgain<T>(run: () => Promise<T>, budgetMs: number): Promise<T> {
  let delay = 5
  let deadline: number | undefined
  for (;;) {
    try {
      return await run()
    } catch (e) {
      if (!isTryAgain(e)) throw e
      deadline ??= Date.now() + budgetMs
      if (Date.now() + delay > deadline) throw e
      await new Promise((resolve) => setTimeout(resolve, delay))
      delay = Math.min(delay * 2, 200)
    }
  }
}

/** Upstash request bodies → RESP; errors worded as the REST client words them. */
class TcpRequester implements Requester {
  readonly #translator: RespTranslator

  constructor(translator: RespTranslator) {
    this.#translator = translator
  }

  async request<TResult = unknown>(req: UpstashRequest): Promise<{ result?: TResult }> {
    const route = req.path?.join('/') ?? ''
    const body = req.body as unknown[]
    try {
      if (route === '') return { result: (await this.#translator.command(body)) as TResult }
      // The SDK reads a pipeline's answer as the array of per-command outcomes.
      if (route === 'pipeline')
        return (await this.#translator.pipeline(body as unknown[][])) as never
      if (route === 'multi-exec')
        return (await this.#translator.multi(body as unknown[][])) as never
      throw new RequestError(`Endpoint not found: /${route}`)
    } catch (e) {
      // Worded as the REST client words them: a single command (auto-pipelined there) fails
      // "Command failed: …"; a refused multi-exec is an HTTP 400, "…, command was: […]".
      if (e instanceof RequestError) {
        throw new errors.UpstashError(
          route === ''
            ? `Command failed: ${e.message}`
            : `${e.message}, command was: ${JSON.stringify(body)}`
        )
      }
      throw e
    }
  }
}

/** Opens the TCP transport (one connection, or one per cluster node, shared by both clients). */
export async function openTcpRedis(config: RedisTcpConfig): Promise<TcpRedis> {
  const parsed = parseRedisUrl(config.url, config.cluster)
  const { conn, close } = await connect(parsed, config.tryAgainMs)
  const requester = new TcpRequester(new RespTranslator(conn))
  const redis = redisOnRequester(requester, { automaticDeserialization: true, autoPipeline: false })
  return {
    redis,
    raw: redisOnRequester(requester, { automaticDeserialization: false, autoPipeline: false }),
    kind: parsed.cluster ? 'redis-cluster' : 'redis',
    broadcast: (keyPrefix) => new BroadcastHub(new TcpFirehose(parsed.nodes[0]!, redis, keyPrefix)),
    ping: async () => void (await redis.ping()),
    close,
  }
}

/** CLIENT SETNAME of the event subscriber for a key prefix (no spaces allowed). */
export function subscriberName(eventPrefix: string): string {
  return `sub:${eventPrefix}`.replace(/[^\w:.-]/g, '_')
}

/**
 * The firehose over RESP pub/sub: `PSUBSCRIBE <prefix>ev:*` on a dedicated connection (a
 * subscribed connection can run nothing else), PUBLISH through the shared client. On a cluster,
 * classic pub/sub reaches every node, so the subscription connects to the first seed node.
 */
export class TcpFirehose implements Firehose {
  readonly #url: string
  readonly #redis: Redis
  readonly #prefix: string

  constructor(url: string, redis: Redis, keyPrefix: string) {
    this.#url = url
    this.#redis = redis
    this.#prefix = `${keyPrefix}ev:`
  }

  publish(channel: string, message: string): Promise<void> {
    return redisCall(async () => void (await this.#redis.publish(this.#prefix + channel, message)))
  }

  async connect(onMessage: (channel: string, message: string) => void, signal: AbortSignal) {
    const sub = createClient({
      url: this.#url,
      RESP: 2,
      // Named, so an operator (or a test) can find this process's subscriber in CLIENT LIST.
      name: subscriberName(this.#prefix),
      socket: { reconnectStrategy: false, connectTimeout: 5000 },
    })
    let ended!: () => void
    const closed = new Promise<void>((resolve) => {
      ended = resolve
    })
    sub.on('error', () => ended())
    sub.on('end', () => ended())
    const stop = () => {
      sub.destroy()
      ended()
    }
    signal.addEventListener('abort', stop, { once: true })
    closed.then(() => signal.removeEventListener('abort', stop))
    try {
      await sub.connect()
      const prefix = this.#prefix
      await sub.pSubscribe(`${prefix}*`, (message: string, channel: string) => {
        if (channel.startsWith(prefix)) onMessage(channel.slice(prefix.length), message)
      })
    } catch (e) {
      stop()
      throw e
    }
    return { closed }
  }
}
