/**
 * Deno entry (`npm run start:deno`): the same host as the Node entry (embedded by default; Upstash,
 * QStash and Neon from the standard env vars), served by `Deno.serve`. Type-checked by
 * `deno check` (deno.json), not by tsc.
 */
import { type HostOptions, listeningFields, startHost } from './host.ts'

export interface DenoServer {
  url: string
  close(): Promise<void>
}

export interface DenoServerOptions extends Partial<HostOptions> {
  port?: number
  hostname?: string
}

export async function startDenoServer(options: DenoServerOptions = {}): Promise<DenoServer> {
  const host = await startHost({ ...options, env: options.env ?? Deno.env.toObject() })
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>()
  const server = Deno.serve(
    { port: options.port ?? 3000, hostname: options.hostname ?? '127.0.0.1', onListen: resolve },
    (request) => host.fetch(request)
  )
  const address = await listening
  const url = `http://${address.hostname}:${address.port}`
  host.container.log.info('listening', listeningFields(host.container, url))
  return {
    url,
    // shutdown() stops listening, lets in-flight requests finish and closes idle connections.
    close: () => host.close(() => server.shutdown()),
  }
}

if (import.meta.main) {
  const server = await startDenoServer({
    port: Number(Deno.env.get('PORT') ?? 3000),
    hostname: Deno.env.get('HOST') ?? '127.0.0.1',
  })
  const stop = async () => {
    await server.close()
    Deno.exit(0)
  }
  Deno.addSignalListener('SIGINT', stop)
  Deno.addSignalListener('SIGTERM', stop)
}
