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
import { createClient, RESP_TYPES } from 'redis'
import {
  ConnectionError,
  type Reply,
  RequestError,
  RespTranslator,
  toArg,
  transactionOn,
} from '../../src/adapters/upstash/resp.ts'

import { firstAttempt } from '../../src/adapters/upstash/tcp.ts'

export { stripKeyLocking } from '../../src/adapters/upstash/resp.ts'

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
  /**
   * The streaming subscribe streams (`/subscribe`, `/psubscribe`) open now; `until(n)` resolves once
   * exactly n are open; `drop()` ends every one (a broker connection lost, the gateway still up).
   */
  readonly subscriptions: { readonly open: number; until(n: number): Promise<void>; drop(): void }
  /** Simulate an outage: stop accepting (close listener + destroy open sockets) so clients get connection errors. */
  suspend(): Promise<void>
  /** Listen again on the same port after suspend(). */
  resume(): Promise<void>
  close(): Promise<void>
}

class HttpError extends Error {
  status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

const ROUTES = new Set(['/', '/pipeline', '/multi-exec'])

const sha256 = (text: string) => createHash('sha256').update(text).digest()

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
  await firstAttempt(client)

  // The RESP ↔ Upstash translation is shared with the TCP transport (src/adapters/upstash/resp.ts).
  const translator = new RespTranslator({
    send,
    transaction: (commands) => transactionOn(send, commands),
  })
  let commandsAtReset = 0
  const run = <T>(op: () => Promise<T>): Promise<T> =>
    op().catch((e: unknown) => {
      if (e instanceof RequestError) throw new HttpError(400, e.message)
      if (e instanceof ConnectionError) throw new HttpError(500, e.message)
      throw e
    })

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
      if (single) answer = { result: await run(() => translator.command(commands[0]!, base64)) }
      else {
        const multi = path === '/multi-exec'
        answer = await run(() =>
          multi ? translator.multi(commands, base64) : translator.pipeline(commands, base64)
        )
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
    stats: () => ({
      ...stats,
      commands: translator.commands - commandsAtReset,
      byPath: { ...stats.byPath },
    }),
    resetStats: () => {
      stats = { requests: 0, commands: 0, byPath: {} }
      commandsAtReset = translator.commands
    },
    subscriptions: {
      get open() {
        return subscriptions.open
      },
      until: (n) => subscriptions.until(n),
      drop: () => subscriptions.close(),
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
