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
} from '../../src/adapters/upstash/resp.ts'

import { firstAttempt } from '../../src/adapters/upstash/tcp.ts'

export { stripKeyLocking } from '../../src/adapters/upstash/resp.ts'

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
export interface UpstashGateway {
  readonly url: string
  readonly token: string
  readonly port: number
  stats(): GatewayStats
  resetStats(): void
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
  // Wait for the first connection attempt only: if Redis is down the gateway still starts (500s).
  await firstAttempt(client)

  // The RESP ↔ Upstash translation is shared with the TCP transport (src/adapters/upstash/resp.ts).
  const translator = new RespTranslator({
    send,
    // Issued in one tick on the one shared connection: nothing can interleave.
    sendBlock: (commands) => Promise.allSettled(commands.map(send)),
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
    if (!ROUTES.has(path)) throw new HttpError(404, `Endpoint not found: ${path}`)
    // Compare fixed-length digests so the comparison time does not depend on the token.
    if (!timingSafeEqual(sha256(req.headers.authorization ?? ''), expectedAuth)) {
      throw new HttpError(401, 'Unauthorized')
    }
    stats.requests++
    stats.byPath[path] = (stats.byPath[path] ?? 0) + 1

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

    if (path === '/') {
      if (!isCommand(body)) throw new HttpError(400, 'ERR expected a JSON array command')
      const result = await run(() => translator.command(body, base64))
      return reply(res, 200, { result })
    }
    if (!Array.isArray(body) || !body.every(isCommand)) {
      throw new HttpError(400, 'ERR expected a JSON array of array commands')
    }
    const multi = path === '/multi-exec'
    reply(
      res,
      200,
      await run(() => (multi ? translator.multi(body, base64) : translator.pipeline(body, base64)))
    )
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
    stats: () => ({
      ...stats,
      commands: translator.commands - commandsAtReset,
      byPath: { ...stats.byPath },
    }),
    resetStats: () => {
      stats = { requests: 0, commands: 0, byPath: {} }
      commandsAtReset = translator.commands
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
