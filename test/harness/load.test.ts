import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runLoad } from './load.ts'

describe('load driver', () => {
  let server: Server
  let url: string
  let connections = 0
  let inFlight = 0
  let maxInFlight = 0
  /** Requests with ?hold wait here until released, so a test can see them all in flight at once. */
  const held: (() => void)[] = []

  beforeAll(async () => {
    server = createServer((req, res) => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const answer = () => {
          inFlight--
          if (req.url === '/reset') return void req.socket.destroy()
          const body = JSON.stringify({
            method: req.method,
            url: req.url,
            auth: req.headers.authorization ?? null,
            type: req.headers['content-type'] ?? null,
            body: Buffer.concat(chunks).toString(),
          })
          res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' })
          res.end(body)
        }
        if (req.url?.includes('hold')) held.push(answer)
        else answer()
      })
    })
    server.on('connection', () => connections++)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  it('answers every request in order with status and body, over at most `concurrency` sockets', async () => {
    connections = 0
    maxInFlight = 0
    const requests = Array.from({ length: 500 }, (_, i) =>
      i % 2 === 0
        ? { path: `/n/${i}`, token: 't0k', json: { i } }
        : { path: i === 7 ? '/missing' : `/n/${i}?q=1` }
    )
    const responses = await runLoad(url, requests, { concurrency: 16 })
    expect(responses).toHaveLength(500)
    expect(responses[0]!.json()).toEqual({
      method: 'POST',
      url: '/n/0',
      auth: 'Bearer t0k',
      type: 'application/json',
      body: '{"i":0}',
    })
    expect(responses[1]!.json()).toMatchObject({ method: 'GET', url: '/n/1?q=1', body: '' })
    expect(responses[7]!.status).toBe(404)
    expect(responses.every((r, i) => r.json().url.startsWith(requests[i]!.path))).toBe(true)
    expect(responses.filter((r) => r.status === 200)).toHaveLength(499)
    expect(maxInFlight).toBeLessThanOrEqual(16)
    expect(connections).toBeLessThanOrEqual(16) // keep-alive: sockets are reused
    expect(responses.every((r) => r.ms >= 0)).toBe(true)
  })

  it('keeps `concurrency` requests in flight at once', async () => {
    maxInFlight = 0
    const run = runLoad(
      url,
      Array.from({ length: 12 }, (_, i) => ({ path: `/hold/${i}` })),
      { concurrency: 8 }
    )
    await expect.poll(() => held.length).toBe(8)
    for (const release of held.splice(0)) release()
    await expect.poll(() => held.length).toBe(4)
    for (const release of held.splice(0)) release()
    expect((await run).map((r) => r.status)).toEqual(Array(12).fill(200))
    expect(maxInFlight).toBe(8)
  })

  it('fails the run on a network error, or returns it with keepNetworkErrors; never retries', async () => {
    const requests = [{ path: '/a' }, { path: '/reset' }, { path: '/b' }]
    await expect(runLoad(url, requests, { concurrency: 1 })).rejects.toThrow(
      /1 of 3 requests failed at the network level: #1 \/reset: ECONNRESET/
    )
    const kept = await runLoad(url, requests, { concurrency: 2, keepNetworkErrors: true })
    expect(kept.map((r) => r.status)).toEqual([200, 0, 200])
    expect(kept[1]!.error).toMatch(/ECONNRESET|socket hang up/)
  })

  it('times a request out', async () => {
    const [r] = await runLoad(url, [{ path: '/hold/forever' }], {
      timeoutMs: 50,
      keepNetworkErrors: true,
    })
    expect(r!.error).toMatch(/timed out after 50 ms/)
    for (const release of held.splice(0)) release()
  })
})
