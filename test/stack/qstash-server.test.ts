import { createHash, createHmac } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Client, Receiver } from '@upstash/qstash'
import { afterEach, describe, expect, it } from 'vitest'
import { compileRetryDelay } from './qstash-retry-delay.ts'
import { type QStashServerOptions, startQStashServer } from './qstash-server.ts'

interface Hit {
  path: string
  method: string
  headers: IncomingHttpHeaders
  body: string
  /** undefined when Receiver.verify accepted the request, else its error message. */
  verifyError?: string
}
interface Reply {
  status: number
  headers?: Record<string, string>
  body?: string
  hang?: boolean
  delayMs?: number
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A destination app: verifies every request with the real Receiver and records it. */
async function startReceiver(keys: { currentSigningKey: string; nextSigningKey: string }) {
  const receiver = new Receiver(keys)
  const hits: Hit[] = []
  const replies = new Map<string, (attempt: number, hit: Hit) => Reply | Promise<Reply>>()
  const active = new Map<string, number>()
  const maxActive = new Map<string, number>()
  const server = createServer(async (req, res) => {
    const key = (req.url ?? '/').split('?')[0]!
    active.set(key, (active.get(key) ?? 0) + 1)
    maxActive.set(key, Math.max(maxActive.get(key) ?? 0, active.get(key)!))
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const path = req.url ?? '/'
    const hit: Hit = { path, method: req.method ?? '', headers: req.headers, body }
    try {
      await receiver.verify({
        signature: String(req.headers['upstash-signature']),
        body,
        url: `${base}${path}`,
      })
    } catch (e) {
      hit.verifyError = (e as Error).message
    }
    const attempt = hits.filter((h) => h.path === path).length
    hits.push(hit)
    const reply = (await replies.get(key)?.(attempt, hit)) ?? { status: 200, body: 'ok' }
    if (reply.hang) return
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs))
    active.set(key, active.get(key)! - 1)
    res.writeHead(reply.status, reply.headers).end(reply.body ?? '')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  cleanups.push(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })
  return {
    base,
    hits,
    replies,
    at: (path: string) => hits.filter((h) => h.path === path),
    /** Most requests to `path` (without query) that were open at the same time. */
    maxActive: (path: string) => maxActive.get(path) ?? 0,
  }
}

async function setup(opts: QStashServerOptions = {}) {
  const qs = await startQStashServer({ backoffScale: 0.001, ...opts })
  cleanups.push(() => qs.close())
  const app = await startReceiver(qs)
  const client = new Client({ baseUrl: qs.url, token: qs.token, devMode: false, retry: false })
  return { qs, app, client }
}

/** Independent JWT minting (node:crypto HMAC), not the server's code path. */
function mintJwt(key: string, claims: Record<string, unknown>): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const input = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`
}
const bodyHash = (body: string) => createHash('sha256').update(body).digest('base64url')
const fromB64 = (s: string) => Buffer.from(s, 'base64').toString('utf8')

describe('local QStash server with the real @upstash/qstash SDK', () => {
  it('delivers publishJSON once with body, method, query, forwarded headers and a valid signature', async () => {
    const { qs, app, client } = await setup()
    const res = await client.publishJSON({
      url: `${app.base}/jobs/run?x=1&y=two`,
      method: 'PUT',
      body: { hello: 'wörld', n: 1 },
      headers: { 'X-Custom': 'abc', Authorization: 'Bearer app-secret' },
    })
    expect(res.messageId).toMatch(/^msg_/)
    await qs.idle()
    expect(app.hits).toHaveLength(1)
    const hit = app.hits[0]!
    expect(hit.path).toBe('/jobs/run?x=1&y=two')
    expect(hit.method).toBe('PUT')
    expect(JSON.parse(hit.body)).toEqual({ hello: 'wörld', n: 1 })
    expect(hit.headers['content-type']).toBe('application/json')
    expect(hit.headers['x-custom']).toBe('abc')
    expect(hit.headers.authorization).toBe('Bearer app-secret')
    expect(hit.headers['upstash-forward-x-custom']).toBeUndefined()
    expect(hit.headers['upstash-message-id']).toBe(res.messageId)
    expect(hit.headers['upstash-retried']).toBe('0')
    expect(hit.headers['user-agent']).toBe('Upstash-QStash')
    expect(hit.verifyError).toBeUndefined()
    expect(qs.stats()).toMatchObject({ published: 1, attempts: 1, delivered: 1, failed: 0 })
    const payload = JSON.parse(fromB64(String(hit.headers['upstash-signature']).split('.')[1]!))
    expect(payload).toMatchObject({ iss: 'Upstash', sub: `${app.base}/jobs/run?x=1&y=two` })
    expect(payload.exp - payload.iat).toBe(300)
    expect(payload.jti).toBeTypeOf('string')
  })

  it('Receiver rejects tampered bodies, forged and expired JWTs, and accepts the next key', async () => {
    const { qs, app, client } = await setup()
    await client.publish({ url: `${app.base}/sig`, body: 'original body' })
    await qs.idle()
    const signature = String(app.hits[0]!.headers['upstash-signature'])
    const receiver = new Receiver(qs)
    const url = `${app.base}/sig`
    await expect(receiver.verify({ signature, body: 'original body', url })).resolves.toBe(true)
    await expect(receiver.verify({ signature, body: 'tampered body', url })).rejects.toThrow(
      /body hash/
    )
    await expect(
      receiver.verify({ signature, body: 'original body', url: `${url}x` })
    ).rejects.toThrow(/invalid subject/)

    const now = Math.floor(Date.now() / 1000)
    const claims = { iss: 'Upstash', sub: url, iat: now, nbf: now, exp: now + 300, jti: 'jwt_t' }
    const withBody = { ...claims, body: bodyHash('payload') }
    const verify = (sig: string) => receiver.verify({ signature: sig, body: 'payload', url })
    await expect(verify(mintJwt(qs.currentSigningKey, withBody))).resolves.toBe(true)
    await expect(verify(mintJwt(qs.nextSigningKey, withBody))).resolves.toBe(true)
    await expect(verify(mintJwt('sig_wrongwrongwrong', withBody))).rejects.toThrow()
    const expired = { ...withBody, iat: now - 900, nbf: now - 900, exp: now - 600 }
    await expect(verify(mintJwt(qs.currentSigningKey, expired))).rejects.toThrow()
    // verify() reports the error of its last try (the next key): there it is the expiry
    await expect(verify(mintJwt(qs.nextSigningKey, expired))).rejects.toThrow(/"exp" claim/)
  })

  it('retries failed attempts with Upstash-Retried 0,1,2 until success (real clock, scaled backoff)', async () => {
    const { qs, app, client } = await setup({ backoffScale: 0.001 })
    app.replies.set('/flaky', (n) => (n < 2 ? { status: 500, body: 'boom' } : { status: 200 }))
    await client.publishJSON({ url: `${app.base}/flaky`, body: { a: 1 } })
    await qs.drain()
    expect(app.at('/flaky').map((h) => h.headers['upstash-retried'])).toEqual(['0', '1', '2'])
    expect(app.at('/flaky').every((h) => h.verifyError === undefined)).toBe(true)
    expect(qs.deliveries().map((d) => d.status)).toEqual([500, 500, 200])
    expect(qs.stats()).toMatchObject({ attempts: 3, delivered: 1, failed: 0 })
    expect(qs.dlq()).toEqual([])
  })

  it('moves an always-failing message to the DLQ after 1+retries attempts and fires the failure callback', async () => {
    const { qs, app, client } = await setup({ clock: 'manual' })
    app.replies.set('/down', () => ({ status: 503, body: 'service down' }))
    const { messageId } = await client.publishJSON({
      url: `${app.base}/down`,
      body: { order: 42 },
      retries: 2,
      failureCallback: `${app.base}/failed`,
    })
    await qs.drain()
    expect(app.at('/down')).toHaveLength(3)
    const { messages } = await client.dlq.listMessages()
    expect(messages).toHaveLength(1)
    const dlq = messages[0]!
    expect(dlq).toMatchObject({
      messageId,
      url: `${app.base}/down`,
      method: 'POST',
      body: '{"order":42}',
      responseStatus: 503,
      responseBody: 'service down',
      maxRetries: 2,
    })
    expect(app.at('/failed')).toHaveLength(1)
    const cb = app.at('/failed')[0]!
    expect(cb.verifyError).toBeUndefined()
    const body = JSON.parse(cb.body)
    expect(body).toMatchObject({ status: 503, sourceMessageId: messageId, dlqId: dlq.dlqId })
    expect(body).toMatchObject({ retried: 2, maxRetries: 2, url: `${app.base}/down` })
    expect(fromB64(body.sourceBody)).toBe('{"order":42}')
    expect(fromB64(body.body)).toBe('service down')
    expect(qs.stats()).toMatchObject({ failed: 1, delivered: 1 }) // the callback was delivered

    // retry from the DLQ once the endpoint is healthy again
    app.replies.set('/down', () => ({ status: 200 }))
    const { responses } = await client.dlq.retry(dlq.dlqId)
    expect(responses).toHaveLength(1)
    await qs.idle()
    expect(app.at('/down')).toHaveLength(4)
    expect(app.at('/down')[3]!.headers['upstash-message-id']).toBe(responses[0]!.messageId)
    expect((await client.dlq.listMessages()).messages).toEqual([])
  })

  it('489 with Upstash-NonRetryable-Error goes straight to the DLQ after one attempt', async () => {
    const { qs, app, client } = await setup({ clock: 'manual' })
    app.replies.set('/reject', () => ({
      status: 489,
      headers: { 'Upstash-NonRetryable-Error': 'true' },
      body: 'bad input',
    }))
    await client.publishJSON({ url: `${app.base}/reject`, body: {}, retries: 3 })
    await qs.drain()
    expect(app.at('/reject')).toHaveLength(1)
    expect(qs.dlq()).toHaveLength(1)
    expect(qs.dlq()[0]).toMatchObject({ responseStatus: 489, responseBody: 'bad input' })
    await client.dlq.delete(qs.dlq()[0]!.dlqId)
    expect(qs.dlq()).toEqual([])
  })

  it('deduplicates by id and by content', async () => {
    const { qs, app, client } = await setup()
    const a = await client.publishJSON({
      url: `${app.base}/d`,
      body: { n: 1 },
      deduplicationId: 'd1',
    })
    const b = await client.publishJSON({
      url: `${app.base}/d`,
      body: { n: 2 },
      deduplicationId: 'd1',
    })
    expect(a.deduplicated).toBeFalsy()
    expect(b).toMatchObject({ messageId: a.messageId, deduplicated: true })
    const c1 = await client.publishJSON({
      url: `${app.base}/c`,
      body: { same: true },
      contentBasedDeduplication: true,
    })
    const c2 = await client.publishJSON({
      url: `${app.base}/c`,
      body: { same: true },
      contentBasedDeduplication: true,
    })
    const c3 = await client.publishJSON({
      url: `${app.base}/c`,
      body: { same: false },
      contentBasedDeduplication: true,
    })
    expect(c2).toMatchObject({ messageId: c1.messageId, deduplicated: true })
    expect(c3.messageId).not.toBe(c1.messageId)
    await qs.idle()
    expect(app.at('/d').map((h) => h.body)).toEqual(['{"n":1}'])
    expect(app.at('/c').map((h) => h.body)).toEqual(['{"same":true}', '{"same":false}'])
    expect(qs.stats()).toMatchObject({ published: 3, deduplicated: 2 })
  })

  it('honours delay on the manual clock', async () => {
    const { qs, app, client } = await setup({ clock: 'manual' })
    await client.publishJSON({ url: `${app.base}/later`, body: {}, delay: 30 })
    await qs.idle()
    await qs.advance(29_000)
    await qs.idle()
    expect(app.hits).toHaveLength(0)
    await qs.advance(1_000)
    await qs.idle()
    expect(app.at('/later')).toHaveLength(1)
    expect(app.hits[0]!.verifyError).toBeUndefined()
  })

  it('honours notBefore on the manual clock', async () => {
    const { qs, app, client } = await setup({ clock: 'manual' })
    const notBefore = Math.ceil(qs.now() / 1000) + 60
    await client.publishJSON({ url: `${app.base}/nb`, body: {}, notBefore })
    await qs.advance(notBefore * 1000 - qs.now() - 1)
    await qs.idle()
    expect(app.hits).toHaveLength(0)
    await qs.advance(1)
    await qs.idle()
    expect(app.at('/nb')).toHaveLength(1)
  })

  it('publishes a signed success callback with the response', async () => {
    const { qs, app, client } = await setup()
    app.replies.set('/work', () => ({ status: 201, body: 'created!' }))
    const { messageId } = await client.publishJSON({
      url: `${app.base}/work`,
      body: { job: 'x' },
      callback: `${app.base}/done`,
    })
    await qs.idle()
    expect(app.at('/done')).toHaveLength(1)
    const cb = app.at('/done')[0]!
    expect(cb.verifyError).toBeUndefined()
    expect(cb.headers['content-type']).toBe('application/json')
    const body = JSON.parse(cb.body)
    expect(body).toMatchObject({
      status: 201,
      sourceMessageId: messageId,
      retried: 0,
      maxRetries: 3,
    })
    expect(fromB64(body.body)).toBe('created!')
    expect(fromB64(body.sourceBody)).toBe('{"job":"x"}')
  })

  it('schedules retries with the Upstash-Retry-Delay expression', async () => {
    const { qs, app, client } = await setup({ clock: 'manual' })
    app.replies.set('/slow', () => ({ status: 500 }))
    await client.publishJSON({
      url: `${app.base}/slow`,
      body: {},
      retries: 3,
      retryDelay: '1000 * (1 + retried)',
    })
    const t0 = qs.now()
    for (const gap of [1000, 2000, 3000]) {
      await qs.idle()
      const before = app.hits.length
      await qs.advance(gap - 1)
      await qs.idle()
      expect(app.hits).toHaveLength(before)
      await qs.advance(1)
      await qs.idle()
      expect(app.hits).toHaveLength(before + 1)
    }
    expect(qs.deliveries().map((d) => d.at - t0)).toEqual([0, 1000, 3000, 6000])
    expect(qs.dlq()).toHaveLength(1)
  })

  it('waits for Retry-After from the endpoint', async () => {
    const { qs, app, client } = await setup({ clock: 'manual' })
    app.replies.set('/busy', (n) =>
      n === 0 ? { status: 429, headers: { 'Retry-After': '7' } } : { status: 200 }
    )
    await client.publishJSON({ url: `${app.base}/busy`, body: {}, retryDelay: '100' })
    await qs.idle()
    await qs.advance(6_999)
    await qs.idle()
    expect(app.hits).toHaveLength(1)
    await qs.advance(1)
    await qs.idle()
    expect(app.hits).toHaveLength(2)
  })

  it('uses the default backoff min(86400, e^(2.5n)) seconds times backoffScale', async () => {
    const { qs, app, client } = await setup({ clock: 'manual', backoffScale: 1 })
    app.replies.set('/x', () => ({ status: 500 }))
    await client.publishJSON({ url: `${app.base}/x`, body: {}, retries: 2 })
    await qs.drain()
    const at = qs.deliveries().map((d) => d.at)
    expect(at[1]! - at[0]!).toBeCloseTo(Math.exp(2.5) * 1000, 0)
    expect(at[2]! - at[1]!).toBeCloseTo(Math.exp(5) * 1000, 0)
  })

  it('messages.get shows a pending message and messages.cancel prevents its delivery', async () => {
    const { qs, app, client } = await setup({ clock: 'manual' })
    const { messageId } = await client.publishJSON({
      url: `${app.base}/c`,
      body: { v: 1 },
      delay: 60,
    })
    const info = await client.messages.get(messageId)
    expect(info).toMatchObject({ messageId, url: `${app.base}/c`, body: '{"v":1}', method: 'POST' })
    expect(await client.messages.cancel(messageId)).toEqual({ cancelled: 1 })
    await qs.advance(120_000)
    await qs.idle()
    expect(app.hits).toHaveLength(0)
    await expect(client.messages.get(messageId)).rejects.toThrow()
  })

  it('cancelling a message while its attempt is in flight stops further retries', async () => {
    const { qs, app, client } = await setup({ clock: 'manual' })
    app.replies.set('/inflight', async (_n, hit) => {
      const id = String(hit.headers['upstash-message-id'])
      expect(await client.messages.cancel(id)).toEqual({ cancelled: 1 })
      return { status: 500 }
    })
    await client.publishJSON({ url: `${app.base}/inflight`, body: {}, retries: 3 })
    await qs.drain()
    expect(app.at('/inflight')).toHaveLength(1)
    expect(qs.dlq()).toEqual([])
  })

  it('delivers 300 concurrent publishes exactly once', async () => {
    const { qs, app, client } = await setup()
    const ids = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        client.publishJSON({ url: `${app.base}/bulk`, body: { i } })
      )
    )
    expect(new Set(ids.map((r) => r.messageId)).size).toBe(300)
    await qs.idle()
    const seen = app.at('/bulk').map((h) => (JSON.parse(h.body) as { i: number }).i)
    expect(seen).toHaveLength(300)
    expect(new Set(seen).size).toBe(300)
    expect(app.hits.every((h) => h.verifyError === undefined)).toBe(true)
    expect(qs.stats()).toMatchObject({ published: 300, attempts: 300, delivered: 300 })
  })

  it('never runs more than `concurrency` deliveries at once', async () => {
    const { qs, app, client } = await setup({ clock: 'manual', concurrency: 8 })
    app.replies.set('/bulk', () => ({ status: 200, delayMs: 60 }))
    await client.batchJSON(
      Array.from({ length: 40 }, (_, i) => ({ url: `${app.base}/bulk`, body: { i }, delay: 1 }))
    )
    await qs.advance(1_000) // all 40 become due at the same instant
    await qs.idle()
    expect(app.at('/bulk')).toHaveLength(40)
    expect(app.maxActive('/bulk')).toBe(8) // without the limit this reaches 20+ here
  })

  it('batchJSON publishes several messages', async () => {
    const { qs, app, client } = await setup()
    const res = await client.batchJSON([
      { url: `${app.base}/b1`, body: { b: 1 } },
      { url: `${app.base}/b2`, body: { b: 2 }, headers: { 'X-B': 'two' }, method: 'PATCH' },
    ])
    expect(res.map((r) => r.messageId)).toHaveLength(2)
    await qs.idle()
    expect(app.at('/b1').map((h) => h.body)).toEqual(['{"b":1}'])
    expect(app.at('/b2').map((h) => [h.method, h.headers['x-b'], h.verifyError])).toEqual([
      ['PATCH', 'two', undefined],
    ])
  })

  it('a queue delivers its messages one at a time, in order; upsert raises parallelism', async () => {
    const { qs, app, client } = await setup({ clock: 'manual', concurrency: 16 })
    app.replies.set('/q', () => ({ status: 200, delayMs: 5 }))
    app.replies.set('/q2', () => ({ status: 200, delayMs: 5 }))
    const serial = client.queue({ queueName: 'serial' })
    // all become due at the same instant, so without queue semantics they would run together
    for (let i = 0; i < 5; i++)
      await serial.enqueueJSON({ url: `${app.base}/q`, body: { i }, delay: 10 })
    await client.queue({ queueName: 'wide' }).upsert({ parallelism: 3 })
    for (let i = 0; i < 6; i++) {
      await client
        .queue({ queueName: 'wide' })
        .enqueueJSON({ url: `${app.base}/q2`, body: { i }, delay: 10 })
    }
    expect(await serial.get()).toMatchObject({ name: 'serial', parallelism: 1, lag: 5 })
    await qs.advance(10_000)
    await qs.idle()
    expect(app.at('/q').map((h) => JSON.parse(h.body).i)).toEqual([0, 1, 2, 3, 4])
    expect(app.maxActive('/q')).toBe(1)
    expect(app.at('/q2')).toHaveLength(6)
    expect(app.maxActive('/q2')).toBe(3)
  })

  it('treats connection errors as failures and aborts hanging deliveries on timeout', async () => {
    const { qs, app } = await setup({ clock: 'manual' })
    const probe = createServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
    const deadPort = (probe.address() as AddressInfo).port
    await new Promise((r) => probe.close(r))
    const publish = (dest: string, headers: Record<string, string>) =>
      fetch(`${qs.url}/v2/publish/${dest}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${qs.token}`, ...headers },
        body: 'x',
      })
    expect(
      (await publish(`http://127.0.0.1:${deadPort}/gone`, { 'Upstash-Retries': '1' })).status
    ).toBe(201)
    app.replies.set('/hang', () => ({ status: 200, hang: true }))
    const hang = { 'Upstash-Retries': '0', 'Upstash-Timeout': '150ms' }
    expect((await publish(`${app.base}/hang`, hang)).status).toBe(201)
    await qs.drain()
    const records = qs.deliveries()
    expect(records.filter((d) => d.url.endsWith('/gone')).map((d) => d.status)).toEqual([
      null,
      null,
    ])
    expect(records.filter((d) => d.url.endsWith('/hang')).map((d) => d.status)).toEqual([null])
    const dlqUrls = new Set(qs.dlq().map((e) => e.url))
    expect(dlqUrls).toEqual(new Set([`${app.base}/hang`, `http://127.0.0.1:${deadPort}/gone`]))
  })

  it('close() aborts in-flight deliveries promptly', async () => {
    const qs = await startQStashServer()
    const app = await startReceiver(qs)
    let signalArrived = () => {}
    const arrived = new Promise<void>((resolve) => {
      signalArrived = resolve
    })
    app.replies.set('/hang', () => {
      signalArrived()
      return { status: 200, hang: true }
    })
    const client = new Client({ baseUrl: qs.url, token: qs.token, devMode: false, retry: false })
    await client.publishJSON({ url: `${app.base}/hang`, body: {} })
    await arrived // the delivery is now in flight and will never get a response
    const started = Date.now()
    await qs.close()
    expect(Date.now() - started).toBeLessThan(2_000) // the default per-attempt timeout is 15 min
    expect(qs.stats().attempts).toBe(0) // aborted attempts after close() are not counted
    await expect(client.publishJSON({ url: `${app.base}/hang`, body: {} })).rejects.toThrow()
  })

  it('rejects a wrong token and invalid requests', async () => {
    const { qs, app, client } = await setup()
    const wrong = new Client({ baseUrl: qs.url, token: 'nope', devMode: false, retry: false })
    await expect(wrong.publishJSON({ url: `${app.base}/x`, body: {} })).rejects.toThrow(/token/)
    await expect(
      client.publishJSON({ url: `${app.base}/x`, body: {}, retryDelay: 'process.exit(1)' })
    ).rejects.toThrow(/retry-delay/)
    await expect(client.publishJSON({ url: 'not-a-url', body: {} })).rejects.toThrow(/destination/)
    const keys = await fetch(`${qs.url}/v2/keys`, {
      headers: { authorization: `Bearer ${qs.token}` },
    })
    expect(await keys.json()).toEqual({ current: qs.currentSigningKey, next: qs.nextSigningKey })
    expect((await fetch(`${qs.url}/v2/keys`)).status).toBe(401)
    await qs.idle()
    expect(qs.stats().published).toBe(0)
    expect(app.hits).toHaveLength(0)
  })
})

describe('Upstash-Retry-Delay expressions', () => {
  it('evaluates arithmetic and the supported functions with `retried`', () => {
    const cases: [string, number, number][] = [
      ['1000', 5, 1000],
      ['1000 * (1 + retried)', 2, 3000],
      ['pow(2, retried) * 1000', 3, 8000],
      ['max(1000, pow(2, retried) * 100)', 2, 1000],
      ['min(5000, 100 * exp(retried))', 0, 100],
      ['sqrt(16) + abs(-2) + floor(1.7) + ceil(1.2) + round(2.5)', 0, 4 + 2 + 1 + 2 + 3],
      ['-retried + 10 % 4 - 6 / 3', 1, -1 + 2 - 2],
    ]
    for (const [expr, retried, want] of cases)
      expect(compileRetryDelay(expr)(retried), expr).toBe(want)
  })
  it('rejects anything else', () => {
    for (const expr of [
      '',
      'process.exit(1)',
      'constructor',
      '1 +',
      'pow(1)',
      '(1',
      '1 2',
      'sqrt(4',
      'x',
    ])
      expect(() => compileRetryDelay(expr), expr).toThrow()
  })
})
