/**
 * An Upstash-REST-compatible gateway over a real Redis, so the production `@upstash/redis` and
 * `@upstash/ratelimit` clients run unchanged against a local Redis (tests, benchmarks, `npm run stack`).
 *
 * Protocol: see /work/shared/reference/edge-stack.md §1 (REST shapes, base64 encoding, errors) and
 * §0.3 / §2.2 (ratelimit's `#!lua flags=allow-key-locking` shebang, which stock Redis rejects).
 *
 * All requests share ONE node-redis connection. node-redis writes every command issued in the same
 * tick as one batch, in issue order, so a /pipeline is sent pipelined and in order, and a
 * /multi-exec (MULTI, commands, EXEC issued synchronously) reaches Redis as one contiguous block
 * that no other request can interleave with. Commands that would change the shared connection's
 * state (SELECT, WATCH, SUBSCRIBE, ...) are refused. Blocking commands (BLPOP, XREAD BLOCK, ...)
 * would stall every other request while they wait, so don't use them through the gateway.
 *
 * Fault injection (`gateway.faults`): drop a request's reply after running it, or drop the request
 * before running it, for a command name / predicate, the next N matches or a seeded fraction.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createClient, ErrorReply, RESP_TYPES } from 'redis'
import { type FaultHandle, FaultRules, type FaultSchedule } from './faults.ts'
import { isSubscribePath, subscribeEndpoint } from './upstash-subscribe.ts'

export interface UpstashGatewayOptions {
  redisUrl: string
  token: string
  port?: number
  host?: string
}
export interface GatewayStats {
  /** HTTP requests that passed routing and auth. */
  requests: number
  /** Client commands sent to Redis (not counting the gateway's own MULTI/EXEC or NOSCRIPT retries). */
  commands: number
  byPath: Record<string, number>
}
/**
 * What a fault does to a matching request (single command, /pipeline or /multi-exec, as a whole):
 * - 'drop-reply': run it, then destroy the connection instead of answering — the reply is lost
 *   after the command ran, so the client sees a network error and @upstash/redis sends it again.
 * - 'drop-request': destroy the connection before running anything (the command never ran).
 */
export type GatewayFaultMode = 'drop-reply' | 'drop-request'

export interface GatewayFaultRule extends FaultSchedule {
  mode: GatewayFaultMode
  /** Command name to match, case-insensitive (e.g. 'EVALSHA'). Default: any command. */
  command?: string
  /**
   * Further filter on a command as the client sent it, all arguments as strings
   * (e.g. `(c) => c[1] === sha` for one script, or `(c) => c[1]?.startsWith(prefix)` for keys).
   */
  match?: (command: string[]) => boolean
}

export interface GatewayFaultStats {
  /** Requests answered by destroying the connection after running them. */
  dropReply: number
  /** Requests dropped before running. */
  dropRequest: number
}

/**
 * Fault injection on the gateway. A request matches a rule when any of its commands does; rules are
 * asked in the order they were added and the first that fires decides.
 */
export interface GatewayFaults {
  add(rule: GatewayFaultRule): FaultHandle
  /** Removes every rule (the counters stay; see resetStats). */
  clear(): void
  stats(): GatewayFaultStats
  resetStats(): void
}

export interface UpstashGateway {
  readonly url: string
  readonly token: string
  readonly port: number
  readonly faults: GatewayFaults
  stats(): GatewayStats
  resetStats(): void
  /** Simulate an outage: stop accepting (close listener + destroy open sockets) so clients get connection errors. */
  suspend(): Promise<void>
  /** Listen again on the same port after suspend(). */
  resume(): Promise<void>
  close(): Promise<void>
}

/** A reply as node-redis decodes RESP2 with the Buffer type mapping below. */
type Reply = Buffer | number | null | ErrorReply | Reply[]
type Outcome = { result: unknown } | { error: string }
interface Prepared {
  /** What is sent to Redis. */
  args: string[]
  /** Sent instead when Redis answers NOSCRIPT (EVALSHA of a script we rewrote). */
  fallback?: string[]
  /** Replaces a successful reply (SCRIPT LOAD of a rewritten script answers the original sha). */
  result?: Buffer
  /** Refused without reaching Redis. */
  refused?: string
}

class HttpError extends Error {
  status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

const ROUTES = new Set(['/', '/pipeline', '/multi-exec'])
const KEY_LOCKING = 'allow-key-locking'
// Commands that would alter or hijack the shared connection's state.
const REFUSED = new Set([
  ...['select', 'multi', 'exec', 'discard', 'watch', 'unwatch', 'monitor', 'quit', 'reset'],
  ...['hello', 'auth', 'sync', 'psync', 'subscribe', 'psubscribe', 'ssubscribe'],
  ...['unsubscribe', 'punsubscribe', 'sunsubscribe'],
])

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex')
const sha256 = (text: string) => createHash('sha256').update(text).digest()

/** The client sends numbers/booleans as JSON scalars and `undefined` array items as null. */
function toArg(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || value === null)
    return String(value)
  return JSON.stringify(value)
}

/**
 * Removes `allow-key-locking` (Upstash-only) from a `#!lua flags=...` first line. If no flag is
 * left, the line becomes empty (keeping line numbers in error messages) and the script runs in
 * Redis's shebang-less compatibility mode, which is also what lets EVAL_RO accept it.
 */
export function stripKeyLocking(script: string): string {
  const eol = script.indexOf('\n')
  const line = eol === -1 ? script : script.slice(0, eol)
  if (!line.startsWith('#!lua') || !line.includes(KEY_LOCKING)) return script
  const words = line.trim().split(/\s+/)
  const at = words.findIndex((w) => w.startsWith('flags='))
  if (at === -1) return script
  const flags = words[at]!.slice('flags='.length).split(',')
  const kept = flags.filter((f) => f !== KEY_LOCKING)
  if (kept.length === flags.length) return script
  words[at] = `flags=${kept.join(',')}`
  const first = kept.some(Boolean) ? words.join(' ') : ''
  return first + (eol === -1 ? '' : script.slice(eol))
}

/** Encodes a reply for JSON: strings base64 (every depth, "OK" too) or UTF-8; numbers/null as-is. */
function encode(reply: Reply, base64: boolean): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString(base64 ? 'base64' : 'utf8')
  if (Array.isArray(reply)) return reply.map((r) => encode(r, base64))
  // A Lua table holding an error reply nests it in an array; JSON has no better shape than its text.
  if (reply instanceof ErrorReply) return encode(Buffer.from(reply.message), base64)
  return reply
}

/** node-redis rejects with ErrorReply for Redis errors; anything else means the connection failed. */
function assertRedisError(reason: unknown): ErrorReply {
  if (reason instanceof ErrorReply) return reason
  throw new HttpError(500, `Redis unavailable: ${(reason as Error)?.message ?? reason}`)
}

export async function startUpstashGateway(opts: UpstashGatewayOptions): Promise<UpstashGateway> {
  const host = opts.host ?? '127.0.0.1'
  const expectedAuth = sha256(`Bearer ${opts.token}`)
  let stats: GatewayStats = { requests: 0, commands: 0, byPath: {} }
  const faultRules = new FaultRules<GatewayFaultRule, string[][]>((rule, commands: string[][]) =>
    commands.some(
      (c) =>
        (rule.command === undefined || c[0]!.toLowerCase() === rule.command.toLowerCase()) &&
        (rule.match === undefined || rule.match(c))
    )
  )
  let faultStats: GatewayFaultStats = { dropReply: 0, dropRequest: 0 }

  // disableOfflineQueue: while Redis is down commands fail at once (→ HTTP 500) instead of queueing;
  // the client keeps reconnecting in the background, so the gateway recovers by itself.
  const client = createClient({
    url: opts.redisUrl,
    RESP: 2,
    disableOfflineQueue: true,
    socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000) },
  })
  client.on('error', () => {}) // surfaced per request as 500s; an unhandled 'error' would crash
  const redis = client.withTypeMapping({
    [RESP_TYPES.BLOB_STRING]: Buffer,
    [RESP_TYPES.SIMPLE_STRING]: Buffer,
  })
  const send = (args: string[]) => redis.sendCommand(args) as Promise<Reply>
  // Streaming subscribe (`/subscribe/<ch>`, `/psubscribe/<pattern>`): see upstash-subscribe.ts.
  const subscriptions = subscribeEndpoint(() =>
    client.duplicate({ disableOfflineQueue: true, socket: { reconnectStrategy: false } })
  )
  // Wait for the first connection attempt only: if Redis is down the gateway still starts (500s).
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

  /** sha1(original script) → rewritten script and its sha1, for scripts we had to rewrite. */
  const scripts = new Map<string, { text: string; sha: string }>()
  function rewrite(script: string): string {
    const text = stripKeyLocking(script)
    if (text !== script) scripts.set(sha1(script), { text, sha: sha1(text) })
    return text
  }

  function prepare(command: unknown[], inMulti: boolean): Prepared {
    const args = command.map(toArg)
    const name = args[0]!.toLowerCase()
    if (REFUSED.has(name)) return { args, refused: `ERR command '${args[0]}' is not supported` }
    if ((name === 'eval' || name === 'eval_ro') && args.length > 1) args[1] = rewrite(args[1]!)
    if ((name === 'evalsha' || name === 'evalsha_ro') && args.length > 1) {
      const known = scripts.get(args[1]!.toLowerCase())
      if (known) {
        const evalName = name === 'evalsha' ? 'EVAL' : 'EVAL_RO'
        const fallback = [evalName, known.text, ...args.slice(2)]
        // Inside MULTI there is no retrying after EXEC, so send the script text outright.
        if (inMulti) return { args: fallback }
        return { args: [args[0]!, known.sha, ...args.slice(2)], fallback }
      }
    }
    if (name === 'script' && args.length > 2) {
      const sub = args[1]!.toLowerCase()
      if (sub === 'load') {
        const original = args[2]!
        args[2] = rewrite(original)
        if (args[2] !== original) return { args, result: Buffer.from(sha1(original)) }
      } else if (sub === 'exists') {
        for (let i = 2; i < args.length; i++)
          args[i] = scripts.get(args[i]!.toLowerCase())?.sha ?? args[i]!
      }
    }
    return { args }
  }

  /** Runs commands pipelined and in order (not atomic, like Upstash). */
  async function runPipeline(commands: Prepared[], base64: boolean): Promise<Outcome[]> {
    const pending = commands.map((c) => (c.refused ? null : send(c.args)))
    stats.commands += commands.filter((c) => !c.refused).length
    const settled = await Promise.allSettled(pending)
    const replies: Array<Reply | ErrorReply> = []
    for (const [i, s] of settled.entries()) {
      const c = commands[i]!
      if (c.refused) replies.push(new ErrorReply(c.refused))
      else if (s.status === 'fulfilled') replies.push(c.result ?? (s.value as Reply))
      else {
        const err = assertRedisError(s.reason)
        // Redis lost the rewritten script (SCRIPT FLUSH / restart): run it by text. This runs after
        // the rest of the pipeline, which only matters in that rare case.
        if (c.fallback && err.message.startsWith('NOSCRIPT')) {
          replies.push(await send(c.fallback).catch(assertRedisError))
        } else replies.push(err)
      }
    }
    return replies.map((r) =>
      r instanceof ErrorReply ? { error: r.message } : { result: encode(r, base64) }
    )
  }

  /**
   * MULTI, the commands and EXEC are issued in one tick, so they reach Redis back to back on the
   * shared connection. A queue-time error makes Redis discard the transaction (EXECABORT); we
   * answer with that first queue-time error, as a whole-request 400.
   */
  async function runMulti(commands: Prepared[], base64: boolean): Promise<Outcome[]> {
    const refused = commands.find((c) => c.refused)
    if (refused) throw new HttpError(400, refused.refused!)
    const pending = [send(['MULTI']), ...commands.map((c) => send(c.args)), send(['EXEC'])]
    stats.commands += commands.length
    const settled = await Promise.allSettled(pending)
    for (const s of settled) if (s.status === 'rejected') assertRedisError(s.reason)
    const failed = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined
    if (failed) throw new HttpError(400, (failed.reason as Error).message)
    const exec = (settled.at(-1) as PromiseFulfilledResult<Reply>).value
    if (!Array.isArray(exec)) throw new HttpError(400, 'ERR transaction aborted')
    return exec.map((r, i) =>
      r instanceof ErrorReply
        ? { error: r.message }
        : { result: encode(commands[i]!.result ?? r, base64) }
    )
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST')
      throw new HttpError(405, 'Method not allowed')
    }
    const subscribe = isSubscribePath(path)
    if (!ROUTES.has(path) && !subscribe) throw new HttpError(404, `Endpoint not found: ${path}`)
    // Compare fixed-length digests so the comparison time does not depend on the token.
    if (!timingSafeEqual(sha256(req.headers.authorization ?? ''), expectedAuth)) {
      throw new HttpError(401, 'Unauthorized')
    }
    stats.requests++
    stats.byPath[path] = (stats.byPath[path] ?? 0) + 1
    if (subscribe) return subscriptions.serve(path, req, res)

    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    let body: unknown
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch {
      throw new HttpError(400, 'ERR request body is not valid JSON')
    }
    const isCommand = (c: unknown): c is unknown[] => Array.isArray(c) && c.length > 0
    const base64 = req.headers['upstash-encoding'] === 'base64'
    const single = path === '/'
    if (single ? !isCommand(body) : !Array.isArray(body) || !body.every(isCommand)) {
      throw new HttpError(
        400,
        `ERR expected a JSON array ${single ? 'command' : 'of array commands'}`
      )
    }
    const commands = (single ? [body] : body) as unknown[][]

    const fault = faultRules.empty ? undefined : faultRules.fire(commands.map((c) => c.map(toArg)))
    if (fault?.mode === 'drop-request') {
      faultStats.dropRequest++
      return void req.socket.destroy()
    }
    let answer: unknown
    try {
      if (single) {
        const [outcome] = await runPipeline([prepare(commands[0]!, false)], base64)
        if (outcome && 'error' in outcome) throw new HttpError(400, outcome.error)
        answer = outcome
      } else {
        const multi = path === '/multi-exec'
        const prepared = commands.map((c) => prepare(c, multi))
        answer = await (multi ? runMulti : runPipeline)(prepared, base64)
      }
    } catch (err) {
      if (!fault) throw err // a 'drop-reply' fault loses an error reply like any other
    }
    if (fault) {
      faultStats.dropReply++
      return void req.socket.destroy()
    }
    reply(res, 200, answer)
  }

  function reply(res: ServerResponse, status: number, body: unknown): void {
    const json = JSON.stringify(body)
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(json),
    })
    res.end(json)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return
      const status = err instanceof HttpError ? err.status : 500
      reply(res, status, { error: (err as Error)?.message ?? String(err) })
    })
  })

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve((server.address() as AddressInfo).port)
      })
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      subscriptions.close()
      if (!server.listening) return resolve()
      server.close(() => resolve())
      server.closeAllConnections()
    })

  const port = await listen(opts.port ?? 0).catch((err) => {
    client.destroy()
    throw err
  })
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    token: opts.token,
    port,
    faults: {
      add: (rule) => faultRules.add(rule),
      clear: () => faultRules.clear(),
      stats: () => ({ ...faultStats }),
      resetStats: () => {
        faultStats = { dropReply: 0, dropRequest: 0 }
      },
    },
    stats: () => ({ ...stats, byPath: { ...stats.byPath } }),
    resetStats: () => {
      stats = { requests: 0, commands: 0, byPath: {} }
    },
    suspend: stop,
    resume: async () => {
      if (!server.listening) await listen(port)
    },
    close: async () => {
      await stop()
      client.destroy()
    },
  }
}
