/**
 * The workerd suite's window onto the stand-ins: tests run inside workerd and cannot hold the
 * QStash stand-in or a Postgres client, so globalSetup serves these over loopback HTTP:
 *   GET  /qstash/delivered?topic=T        → { count }  successful deliveries of topic T so far
 *   POST /qstash/wait?topic=T&count=N     → { count }  once N are delivered and nothing is due
 *   POST /qstash/advance?ms=N             → { count }  moves QStash's clock, then waits until idle
 *   POST /sql  { text, values }           → { rows }   a query on the suite's database
 *   GET  /gateway/subscriptions           → { opened, open }  streaming psubscribes at the Upstash
 *                                           gateway: opened so far, open now
 *   POST /gateway/subscriptions/wait?open=N  → the same, once exactly N are open
 *   POST /gateway/subscriptions/drop      → ends every open one (the broker connection drops)
 *   GET  /gateway/stats                   → { requests, commands }  counted by the gateway so far
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import type { QStashServer } from '../stack/qstash-server.ts'
import type { UpstashGateway } from '../stack/upstash-gateway.ts'

export interface ControlServer {
  url: string
  close(): Promise<void>
}

export async function startControlServer(opts: {
  qstash: QStashServer
  gateway: UpstashGateway
  databaseUrl: string
  port?: number
}): Promise<ControlServer> {
  const { qstash, gateway } = opts
  const subscriptions = () => ({
    opened: Object.entries(gateway.stats().byPath)
      .filter(([path]) => path.startsWith('/psubscribe/'))
      .reduce((n, [, count]) => n + count, 0),
    open: gateway.subscriptions.open,
  })
  const sql = new pg.Pool({ connectionString: opts.databaseUrl, max: 2 })
  const delivered = (topic: string) =>
    qstash
      .deliveries()
      .filter((d) => d.url.endsWith(`/${topic}`) && d.status !== null && d.status < 300).length

  const route = async (method: string, url: URL, body: string) => {
    const topic = url.searchParams.get('topic') ?? ''
    const n = Number(url.searchParams.get('count') ?? url.searchParams.get('ms'))
    switch (`${method} ${url.pathname}`) {
      case 'GET /qstash/delivered':
        return { count: delivered(topic) }
      case 'POST /qstash/wait':
        await qstash.until(() => delivered(topic) >= n)
        await qstash.idle()
        return { count: delivered(topic) }
      case 'POST /qstash/advance':
        await qstash.advance(n)
        await qstash.idle()
        return {}
      case 'GET /gateway/subscriptions':
        return subscriptions()
      case 'GET /gateway/stats': {
        const { requests, commands } = gateway.stats()
        return { requests, commands }
      }
      case 'POST /gateway/subscriptions/wait':
        await gateway.subscriptions.until(Number(url.searchParams.get('open')))
        return subscriptions()
      case 'POST /gateway/subscriptions/drop':
        gateway.subscriptions.drop()
        return subscriptions()
      case 'POST /sql': {
        const { text, values } = JSON.parse(body) as { text: string; values?: unknown[] }
        return { rows: (await sql.query(text, values)).rows }
      }
      default:
        return undefined
    }
  }

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    try {
      const out = await route(
        req.method ?? 'GET',
        new URL(req.url ?? '/', 'http://control'),
        Buffer.concat(chunks).toString()
      )
      res.writeHead(out ? 200 : 404, { 'content-type': 'application/json' })
      res.end(JSON.stringify(out ?? { error: 'no such control' }))
    } catch (e) {
      res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: (e as Error).message }))
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve())
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await sql.end()
    },
  }
}
