import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface LossyProxy {
  /** Base URL to give the client instead of the target's. */
  readonly url: string
  /**
   * The next request whose body contains `marker` is forwarded and executed, then its reply is
   * dropped (the client's connection is cut): the fault "a reply lost after the command ran".
   */
  loseReplyOf(marker: string): void
  /** Requests whose replies were dropped so far. */
  readonly lost: number
  close(): Promise<void>
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** An HTTP forwarder in front of `target` (e.g. the Upstash gateway) that can lose replies. */
export async function startLossyProxy(target: string): Promise<LossyProxy> {
  const markers: string[] = []
  let lost = 0
  const server = createServer(async (req, res) => {
    const body = await bodyOf(req)
    const headers = new Headers()
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k))
        headers.set(k, v)
    }
    const upstream = await fetch(`${target}${req.url}`, {
      method: req.method ?? 'GET',
      headers,
      ...(body.length > 0 ? { body: new Uint8Array(body) } : {}),
    })
    const reply = Buffer.from(await upstream.arrayBuffer())
    const text = body.toString('utf8')
    const hit = markers.findIndex((m) => text.includes(m))
    if (hit >= 0) {
      markers.splice(hit, 1)
      lost++
      req.socket.destroy() // the command ran; its reply never arrives
      return
    }
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? '' })
    res.end(reply)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    loseReplyOf: (marker) => void markers.push(marker),
    get lost() {
      return lost
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
