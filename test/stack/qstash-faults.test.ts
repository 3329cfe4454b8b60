import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Client, QstashError } from '@upstash/qstash'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { type QStashServer, startQStashServer } from './qstash-server.ts'

/**
 * The real @upstash/qstash Client against the stand-in: an HTTP error from the publish API is thrown
 * at once as QstashError(status); only network errors are retried (its `retry` option).
 */
describe('QStash stand-in fault injection', () => {
  let qs: QStashServer
  let base: string
  const hits: string[] = []
  const server = createServer((req, res) => {
    req.resume().on('end', () => {
      hits.push(req.url ?? '/')
      res.writeHead(200).end('ok')
    })
  })
  const hitsAt = (path: string) => hits.filter((h) => h === path).length
  const client = (retries = 0) =>
    new Client({
      baseUrl: qs.url,
      token: qs.token,
      devMode: false,
      retry: { retries, backoff: () => 0 },
    })

  beforeAll(async () => {
    // A manual clock: retries happen when drain() jumps to them, with no waiting.
    qs = await startQStashServer({ clock: 'manual' })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await qs.close()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  beforeEach(async () => {
    await qs.drain()
    qs.faults.clear()
    qs.faults.resetStats()
    hits.length = 0
    vi.spyOn(console, 'error').mockImplementation(() => {}) // the SDK logs every failed request
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    return () => vi.restoreAllMocks()
  })

  it('failPublishes({ times }): the next N publishes answer 500 (QstashError), then they pass', async () => {
    const fault = qs.faults.failPublishes({ times: 2 })
    const before = qs.stats().published
    const c = client()
    for (let i = 0; i < 2; i++) {
      const err = await c.publishJSON({ url: `${base}/a`, body: { i } }).catch((e) => e)
      expect(err).toBeInstanceOf(QstashError)
      expect(err).toMatchObject({ status: 500, message: expect.stringMatching(/injected fault/) })
    }
    expect((await c.publishJSON({ url: `${base}/a`, body: {} })).messageId).toMatch(/^msg_/)
    expect(fault).toMatchObject({ hits: 2, done: true })
    expect(qs.stats().published).toBe(before + 1)
    expect(qs.faults.stats().publish).toEqual({ error: 2, dropRequest: 0, dropReply: 0 })
    await qs.drain()
    expect(hitsAt('/a')).toBe(1)
  })

  it('a URL pattern and a status: only matching destinations fail, until cleared', async () => {
    qs.faults.failPublishes({ url: /\/orders\//, status: 503 })
    const c = client()
    await expect(c.publishJSON({ url: `${base}/orders/1`, body: {} })).rejects.toMatchObject({
      status: 503,
    })
    await c.publishJSON({ url: `${base}/other`, body: {} })
    // A batch fails whole when any destination matches; enqueue is a publish too.
    await expect(
      c.batchJSON([
        { url: `${base}/other`, body: {} },
        { url: `${base}/orders/2`, body: {} },
      ])
    ).rejects.toMatchObject({ status: 503 })
    await expect(
      c.queue({ queueName: 'q' }).enqueueJSON({ url: `${base}/orders/3`, body: {} })
    ).rejects.toMatchObject({ status: 503 })
    qs.faults.clear()
    await c.publishJSON({ url: `${base}/orders/4`, body: {} })
    await qs.drain()
    expect(hits.sort()).toEqual(['/orders/4', '/other'])
    expect(qs.faults.stats().publish.error).toBe(3)
  })

  it("publish 'drop-request': the client's retry publishes once; without retries it throws", async () => {
    qs.faults.failPublishes({ mode: 'drop-request', times: 2 })
    await expect(client(0).publishJSON({ url: `${base}/d`, body: {} })).rejects.toThrow(
      /fetch failed/
    )
    await client(1).publishJSON({ url: `${base}/d`, body: {} }) // dropped once, then published
    await qs.drain()
    expect(hitsAt('/d')).toBe(1)
    expect(qs.faults.stats().publish.dropRequest).toBe(2)
  })

  it("publish 'drop-reply': published, reply lost, the client retries — a duplicate unless deduplicated", async () => {
    qs.faults.failPublishes({ mode: 'drop-reply', times: 1 })
    await client(1).publishJSON({ url: `${base}/dup`, body: {} })
    qs.faults.failPublishes({ mode: 'drop-reply', times: 1 })
    const before = qs.stats().deduplicated
    await client(1).publishJSON({ url: `${base}/once`, body: {}, deduplicationId: 'once-1' })
    expect(qs.stats().deduplicated).toBe(before + 1)
    await qs.drain()
    expect([hitsAt('/dup'), hitsAt('/once')]).toEqual([2, 1])
    expect(qs.faults.stats().publish.dropReply).toBe(2)
  })

  it('failDeliveries({ times }): N attempts fail as unreachable, then it is delivered', async () => {
    qs.faults.failDeliveries({ times: 2, url: '/job' })
    const { messageId } = await client().publishJSON({ url: `${base}/job`, body: {}, retries: 3 })
    await qs.drain()
    expect(hitsAt('/job')).toBe(1) // the endpoint was never called for the faulted attempts
    const attempts = qs.deliveries().filter((d) => d.messageId === messageId)
    expect(attempts.map((d) => [d.retried, d.status, d.fault])).toEqual([
      [0, null, 'drop-request'],
      [1, null, 'drop-request'],
      [2, 200, undefined],
    ])
    expect(qs.faults.stats().delivery).toEqual({ dropRequest: 2, dropReply: 0 })
  })

  it('enough failed deliveries dead-letter the message and call its failure callback', async () => {
    qs.faults.failDeliveries({ url: '/doomed', status: 503 })
    const { messageId } = await client().publishJSON({
      url: `${base}/doomed`,
      body: { n: 1 },
      retries: 2,
      failureCallback: `${base}/failed`,
    })
    await qs.drain()
    expect(hitsAt('/doomed')).toBe(0)
    expect(hitsAt('/failed')).toBe(1)
    const dead = qs.dlq().find((e) => e.messageId === messageId)
    expect(dead).toMatchObject({ responseStatus: 503 })
    const attempts = qs.deliveries().filter((d) => d.messageId === messageId)
    expect(attempts.map((d) => d.status)).toEqual([503, 503, 503])
  })

  it("delivery 'drop-reply': the handler runs, its answer is lost, and it is delivered again", async () => {
    qs.faults.failDeliveries({ mode: 'drop-reply', times: 1, url: '/twice' })
    await client().publishJSON({ url: `${base}/twice`, body: {}, retries: 3 })
    await qs.drain()
    expect(hitsAt('/twice')).toBe(2)
    expect(qs.faults.stats().delivery).toEqual({ dropRequest: 0, dropReply: 1 })
    expect(qs.dlq().filter((e) => e.url === `${base}/twice`)).toEqual([])
  })

  it('a seeded fraction of deliveries fails reproducibly', async () => {
    const run = async (path: string) => {
      const fault = qs.faults.failDeliveries({ fraction: 0.5, seed: 3, url: path })
      const c = client()
      const ids: string[] = []
      for (let i = 0; i < 20; i++) {
        ids.push((await c.publishJSON({ url: `${base}${path}`, body: {} })).messageId)
      }
      await qs.idle()
      fault.remove()
      const first = qs.deliveries().filter((d) => d.retried === 0)
      return ids.map((id) => first.find((d) => d.messageId === id)?.fault !== undefined)
    }
    const first = await run('/f1')
    expect(first.filter(Boolean).length).toBeGreaterThan(3)
    expect(first.filter(Boolean).length).toBeLessThan(17)
    expect(await run('/f2')).toEqual(first)
    await qs.drain()
  })
})
