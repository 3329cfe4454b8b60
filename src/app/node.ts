/**
 * Node entry (`npm start`; Bun runs it too: `npm run start:bun`). With no environment it runs
 * fully embedded: in-memory Redis/queue adapters and PGlite persisted under DATA_DIR (default
 * .data/). With the standard env vars set it uses Upstash, QStash and Neon like the Worker.
 * Migrations are applied at start.
 */
import { type ServerType, serve } from '@hono/node-server'
import { isMainModule } from '../adapters/system/main-module.ts'
import type { Container } from './deps.ts'
import { type HostOptions, listeningFields, startHost } from './host.ts'

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
    const s = serve({ fetch: host.fetch, port: options.port ?? 3000, hostname }, () => resolve(s))
  })
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

if (isMainModule(import.meta)) {
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
