/**
 * Node entry (`npm start`; Bun runs it too: `npm run start:bun`). With no environment it runs
 * fully embedded: in-memory Redis/queue adapters and PGlite persisted under DATA_DIR (default
 * .data/). With the standard env vars set it uses Upstash, QStash and Neon like the Worker.
 * Migrations are applied at start.
 */
import type { IncomingMessage } from 'node:http'
import { type ServerType, serve } from '@hono/node-server'
import { isMainModule } from '../adapters/system/main-module.ts'
import type { Container } from './deps.ts'
import { type HostOptions, listeningFields, startHost } from './host.ts'
import { rememberBodyless } from './http/body-limit.ts'
import { rememberSocketAddress } from './http/client-ip.ts'
import { startCluster } from './node-cluster.ts'

export interface NodeServer {
  url: string
  /** The server's dependency container (scripts and tests reach the adapters through it). */
  container: Container
  close(): Promise<void>
}

export interface NodeServerOptions extends Partial<HostOptions> {
  port?: number
  hostname?: string
}

export async function startNodeServer(options: NodeServerOptions = {}): Promise<NodeServer> {
  const host = await startHost({ ...options, env: options.env ?? process.env })
  const hostname = options.hostname ?? '127.0.0.1'
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve(
      {
        fetch: (req, node: { incoming?: unknown }) => {
          const incoming = node.incoming as IncomingMessage | undefined
          rememberSocketAddress(req, incoming?.socket?.remoteAddress)
          if (incoming && hasNoBody(incoming)) rememberBodyless(req)
          return host.fetch(req)
        },
        port: options.port ?? 3000,
        hostname,
      },
      () => resolve(s)
    )
  })
  server.on('clientError', answerClientError)
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  const url = `http://${hostname}:${port}`
  host.container.log.info('listening', listeningFields(host.container, url))
  return {
    url,
    container: host.container,
    close: () => host.close(() => closeServer(server)),
  }
}

/** HTTP/1.x: a request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 §6.3). */
function hasNoBody(incoming: IncomingMessage): boolean {
  const h = incoming.headers
  return (
    incoming.httpVersionMajor === 1 && // (HTTP/2 frames the body without these headers)
    h['content-length'] === undefined &&
    h['transfer-encoding'] === undefined
  )
}

const CLIENT_ERRORS: Record<string, [number, string, string, string]> = {
  HPE_HEADER_OVERFLOW: [
    431,
    'Request Header Fields Too Large',
    'HEADERS_TOO_LARGE',
    'Request headers too large',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'Request timed out'],
}

/**
 * Errors of Node's HTTP parser (headers over the limit, an unknown method, malformed requests)
 * never reach the app; without a listener Node answers them with an empty body. Answer them with
 * problem+json like everything else, then close the connection.
 */
function answerClientError(err: Error & { code?: string }, socket: import('node:stream').Duplex) {
  // Like Node's own handler: answer only on a socket that has not written anything yet (a
  // keep-alive connection may be mid-response); otherwise just close it.
  const written = (socket as { bytesWritten?: number }).bytesWritten ?? 0
  if (err.code === 'ECONNRESET' || !socket.writable || written > 0) {
    socket.destroy()
    return
  }
  const [status, reason, code, title] = CLIENT_ERRORS[err.code ?? ''] ?? [
    400,
    'Bad Request',
    'BAD_REQUEST',
    'Malformed HTTP request',
  ]
  const body = JSON.stringify({ type: `urn:problem:${code}`, title, status, code })
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  )
}

/**
 * Stops accepting connections and closes the open ones: idle keep-alive connections at once (else
 * `close()` waits for their keep-alive timeout, and Bun's and Deno's node:http never finish) and
 * whatever is still open after `graceMs` (a response still being written, a client holding on).
 */
function closeServer(server: ServerType, graceMs = 5_000): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => closeAll(server), graceMs)
    server.close(() => {
      clearTimeout(force)
      resolve()
    })
    if ('closeIdleConnections' in server) server.closeIdleConnections()
  })
}

function closeAll(server: ServerType) {
  if ('closeAllConnections' in server) server.closeAllConnections()
}

if (isMainModule(import.meta) && !startCluster(process.env)) {
  const server = await startNodeServer({
    port: Number(process.env.PORT ?? 3000),
    hostname: process.env.HOST ?? '127.0.0.1',
  })
  const stop = async () => {
    await server.close()
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
