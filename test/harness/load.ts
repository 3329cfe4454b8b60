/**
 * A load driver for the big concurrency tests: many HTTP requests with bounded concurrency over a
 * few keep-alive connections, each answered with its status and body (in request order).
 *
 * Why not `Promise.all(requests.map(fetch))`: fetch opens one connection per concurrent request.
 * 2,000 connects at once overflow the server's listen backlog (Node's default 511): the kernel
 * drops SYNs and handshake ACKs, falls back to SYN cookies, and on a busy machine some of those
 * connections end in a reset, so the test fails with `ECONNRESET` for reasons unrelated to the
 * code (seen as ListenOverflows / SyncookiesFailed in `nstat`). Here at most `concurrency` sockets
 * exist (keep it well below 511), each reused for request after request, and all are closed when
 * the run ends, so no idle connection outlives it to race the server's keep-alive timeout.
 *
 * No request is ever retried (a retried POST could be applied twice and hide the very bug a test
 * looks for): a network error fails the run, or is returned with `keepNetworkErrors`.
 */
import { Agent, type IncomingHttpHeaders, request } from 'node:http'

export interface LoadRequest {
  path: string
  /** Default: POST when `json` or `body` is given, else GET. */
  method?: string
  headers?: Record<string, string>
  /** Sent as `authorization: Bearer <token>`. */
  token?: string
  /** Sent as a JSON body with content-type application/json. */
  json?: unknown
  body?: string | Buffer
}

export interface LoadResponse {
  /** HTTP status; 0 when the request failed at the network level (see `error`). */
  status: number
  headers: IncomingHttpHeaders
  body: string
  /** The body parsed as JSON (throws when it is not JSON); untyped like fetch's `json()`. */
  // biome-ignore lint/suspicious/noExplicitAny: test code reads fields of arbitrary bodies
  json<T = any>(): T
  /** Milliseconds from sending to the end of the response. */
  ms: number
  /** Only with `keepNetworkErrors`: the network error (ECONNRESET, timeout, ...). */
  error?: string
}

export interface LoadOptions {
  /** Requests in flight at most, which is also the number of sockets. Default 64. */
  concurrency?: number
  /** Per-request timeout in ms (default 60 000): the request fails as a network error. */
  timeoutMs?: number
  /** Return network errors as `{ status: 0, error }` instead of failing the whole run. */
  keepNetworkErrors?: boolean
}

/** Sends every request to `baseUrl` (http only) and resolves with the responses in request order. */
export async function runLoad(
  baseUrl: string,
  requests: readonly LoadRequest[],
  options: LoadOptions = {}
): Promise<LoadResponse[]> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 64))
  const timeoutMs = options.timeoutMs ?? 60_000
  const base = new URL(baseUrl)
  if (base.protocol !== 'http:') throw new Error(`runLoad speaks http only: ${baseUrl}`)
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency })
  const out = new Array<LoadResponse>(requests.length)
  const failures: string[] = []
  let next = 0
  const worker = async () => {
    while (next < requests.length) {
      const i = next++
      out[i] = await send(agent, base, requests[i]!, timeoutMs)
      if (out[i]!.error !== undefined) failures.push(`#${i} ${requests[i]!.path}: ${out[i]!.error}`)
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker))
  } finally {
    agent.destroy()
  }
  if (failures.length > 0 && !options.keepNetworkErrors) {
    throw new Error(
      `${failures.length} of ${requests.length} requests failed at the network level: ` +
        failures.slice(0, 5).join('; ')
    )
  }
  return out
}

function send(agent: Agent, base: URL, r: LoadRequest, timeoutMs: number): Promise<LoadResponse> {
  const headers: Record<string, string> = { ...r.headers }
  if (r.token) headers.authorization = `Bearer ${r.token}`
  let body = r.body
  if (r.json !== undefined) {
    body = JSON.stringify(r.json)
    headers['content-type'] ??= 'application/json'
  }
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
  const method = r.method ?? (body === undefined ? 'GET' : 'POST')
  const started = performance.now()
  const result = (status: number, h: IncomingHttpHeaders, text: string, error?: string) => ({
    status,
    headers: h,
    body: text,
    json: () => JSON.parse(text),
    ms: performance.now() - started,
    ...(error !== undefined && { error }),
  })
  return new Promise((resolve) => {
    const req = request(
      new URL(r.path, base),
      { method, headers, agent, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve(result(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString()))
        )
        res.on('error', (e) => resolve(result(0, {}, '', describe(e))))
      }
    )
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)))
    req.on('error', (e) => resolve(result(0, {}, '', describe(e))))
    req.end(body)
  })
}

function describe(e: Error & { code?: string }): string {
  return e.code ? `${e.code} ${e.message}` : e.message
}
