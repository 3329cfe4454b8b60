/**
 * Who may spend the sale's admission budget (issue 9, item 9): requests with made-up bearer tokens,
 * and a real session already refused by its own bucket, must not push real buyers into 429. The
 * sale bucket (SECKILL_SALE_LIMIT) is taken inside the reservation's script, after the session and
 * the per-session bucket have passed: on every adapter (memory, the REST stand-in, TCP, cluster).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { loadConfig } from '../src/app/config.ts'
import { appKinds, startTestApp, type TestApp, tcpAppKinds } from './harness/app.ts'
import { createSale as createSaleOver } from './harness/flows.ts'
import { runLoad } from './harness/load.ts'
import { type DirectRedis, directRedis } from './harness/redis.ts'
import { publishHold } from './harness/seckill.ts'
import { makeUsers } from './harness/users.ts'

const ADMIN = 'admission-test-admin-token'
const MIN = 60_000
const SALE_TOKENS = 5

const kinds = [...appKinds(inject('services')), ...tcpAppKinds(inject('services'))]
describe.each(kinds)('the sale admission bucket is spent by buyers only [%s]', (kind) => {
  let app: TestApp
  let direct: DirectRedis | undefined
  const publishes = publishHold()

  beforeAll(async () => {
    app = await startTestApp(kind, {
      decorate: publishes.decorate,
      env: {
        ADMIN_TOKEN: ADMIN,
        SEED_DEMO_DATA: 'true',
        SECKILL_USER_LIMIT: '3/1m',
        SECKILL_SALE_LIMIT: `${SALE_TOKENS}/1m`,
      },
    })
    // The bucket's fields can be read where the sale lives on one Redis (not on the cluster).
    if (kind === 'real' || kind === 'tcp') direct = await directRedis()
  })
  afterAll(async () => {
    await direct?.quit()
    await app?.close()
  })

  const createSale = async (stock = 20) =>
    (await createSaleOver(app.fetch, ADMIN, app.clock.now(), { stock })).id
  const grab = (sale: string, token: string) =>
    app.fetch(`/vouchers/${sale}/seckill`, { method: 'POST', token })
  const grabHmdp = (sale: string, token: string) =>
    app.fetch(`/voucher-order/seckill/${sale}`, { method: 'POST', token })
  /** The sale bucket's fields in Redis (null where they cannot be read directly). */
  const bucketFields = async (sale: string) =>
    direct ? direct.hmGet(`${app.prefix}sk:{${sale}}`, ['bt', 'br']) : null
  /** Made-up bearer tokens (fresh CSPRNG tokens of the real format, no session behind them). */
  const junk = async (n: number, sale: string) => {
    const deps = await app.deps()
    return Array.from({ length: n }, (_, i) => ({
      path: i % 2 ? `/vouchers/${sale}/seckill` : `/voucher-order/seckill/${sale}`,
      method: 'POST',
      token: deps.ids.token(),
    }))
  }

  /** The bucket is live: once its 5 tokens are taken, the next buyer is refused (both routes). */
  async function expectBucketEmpty(sale: string, token: string) {
    const res = await grab(sale, token)
    expect(res.status).toBe(429)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    const body = await res.json()
    expect(body).toMatchObject({ code: 'RATE_LIMITED', scope: 'global' })
    expect(body.retryAfterMs).toBeGreaterThan(0)
    const hmdp = await grabHmdp(sale, token)
    expect(hmdp.status).toBe(200)
    expect(Number(hmdp.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(await hmdp.json()).toMatchObject({ success: false, code: 'RATE_LIMITED' })
  }

  it('a flood of made-up bearer tokens spends none of it: real buyers up to the limit all get in', async () => {
    const sale = await createSale()
    const buyers = await makeUsers(app, SALE_TOKENS + 1)
    const before = await runLoad(app.url, await junk(300, sale), { concurrency: 32 })
    expect(before.map((r) => r.status)).toEqual(before.map(() => 401))
    if (direct) expect(await bucketFields(sale)).toEqual([null, null]) // never touched
    // Real buyers buy while the flood goes on (half on the hmdp route).
    const [during, bought] = await Promise.all([
      runLoad(app.url, await junk(300, sale), { concurrency: 32 }),
      (async () => {
        const out: unknown[] = []
        for (const [i, b] of buyers.slice(0, SALE_TOKENS).entries()) {
          if (i % 2) out.push((await grab(sale, b.token)).status)
          else out.push((await (await grabHmdp(sale, b.token)).json()).success)
        }
        return out
      })(),
    ])
    expect(during.map((r) => r.status)).toEqual(during.map(() => 401))
    expect(bought).toEqual([true, 202, true, 202, true])
    if (direct) expect((await bucketFields(sale))?.[0]).toBe('0') // exactly the buyers' tokens
    await expectBucketEmpty(sale, buyers[SALE_TOKENS]!.token)
    const deps = await app.deps()
    expect(await deps.ledger.audit(sale, false)).toMatchObject({ stock: 15, expectedStock: 15 })
    await app.settle()
  }, 120_000)

  it('a real session spamming past its own bucket spends one sale token at most', async () => {
    const sale = await createSale()
    const [spammer, ...others] = await makeUsers(app, SALE_TOKENS + 1)
    const path = `/vouchers/${sale}/seckill`
    const spam = await runLoad(
      app.url,
      Array.from({ length: 30 }, () => ({ path, method: 'POST', token: spammer!.token })),
      { concurrency: 6 }
    )
    const codes = spam.map((r) => (r.status === 429 ? `429 ${r.json().scope}` : r.status))
    // Its own bucket (3/1m) lets 3 through: one buys, two are ALREADY_PURCHASED; the rest are 429.
    expect(codes.filter((c) => c === 202)).toHaveLength(1)
    expect(codes.filter((c) => c === 409)).toHaveLength(2)
    expect(codes.filter((c) => c === '429 user')).toHaveLength(27)
    // The sale bucket lost one token (the spammer's acceptance): 4 other buyers still get in.
    for (const b of others.slice(0, SALE_TOKENS - 1))
      expect((await grab(sale, b.token)).status).toBe(202)
    await expectBucketEmpty(sale, others[SALE_TOKENS - 1]!.token)
    // The bucket refills with the interval (the sale's clock).
    await app.clock.advance(MIN)
    expect((await grab(sale, others[SALE_TOKENS - 1]!.token)).status).toBe(202)
    await app.settle()
  })

  it('answers a retried acceptance and an idempotent replay even when the bucket is empty', async () => {
    const sale = await createSale()
    const buyers = await makeUsers(app, SALE_TOKENS + 1)
    const key = { 'idempotency-key': 'admission-replay-1' }
    const first = await app.fetch(`/vouchers/${sale}/seckill`, {
      method: 'POST',
      token: buyers[0]!.token,
      headers: key,
    })
    expect(first.status).toBe(202)
    const { orderId } = await first.json()
    for (const b of buyers.slice(1, SALE_TOKENS))
      expect((await grab(sale, b.token)).status).toBe(202)
    await expectBucketEmpty(sale, buyers[SALE_TOKENS]!.token)
    const replay = await app.fetch(`/vouchers/${sale}/seckill`, {
      method: 'POST',
      token: buyers[0]!.token,
      headers: key,
    })
    expect(replay.status).toBe(202)
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect((await replay.json()).orderId).toBe(orderId)
    // A buyer who already holds the limit hears so (a final answer), not a 429 to retry.
    const again = await grab(sale, buyers[1]!.token)
    expect(again.status).toBe(409)
    expect((await again.json()).code).toBe('ALREADY_PURCHASED')
    await app.settle()
  })

  // The gateway's counters exist on the REST stand-in only.
  if (kind === 'real') {
    it('round trips: a made-up token costs one (no sale key touched), a buyer at most two', async () => {
      const sale = await createSale()
      const buyers = await makeUsers(app, SALE_TOKENS + 1)
      const gateway = app.stack!.gateway
      expect((await grab(sale, buyers[0]!.token)).status).toBe(202) // warm: scripts, sale loaded
      await app.settle()
      publishes.hold()
      let saleCommands = 0
      const counter = gateway.faults.add({
        mode: 'drop-reply',
        match: (c) => {
          if (c.some((a) => a.includes(`sk:{${sale}}`))) saleCommands += 1
          return false
        },
      })
      try {
        const deps = await app.deps()
        for (let i = 0; i < 5; i++) {
          gateway.resetStats()
          expect((await grab(sale, deps.ids.token())).status).toBe(401)
          expect(gateway.stats().requests).toBe(1)
          expect((await grabHmdp(sale, deps.ids.token())).status).toBe(401)
        }
        expect(saleCommands).toBe(0)
        for (const b of buyers.slice(1, SALE_TOKENS)) {
          gateway.resetStats()
          expect((await grab(sale, b.token)).status).toBe(202)
          expect(gateway.stats().requests).toBeLessThanOrEqual(2)
        }
        // Refused by the sale bucket: decided inside the second round trip.
        gateway.resetStats()
        expect((await grab(sale, buyers[SALE_TOKENS]!.token)).status).toBe(429)
        expect(gateway.stats().requests).toBeLessThanOrEqual(2)
      } finally {
        counter.remove()
        await publishes.release()
      }
      await app.settle()
    })
  }
})

describe('SECKILL_SALE_LIMIT', () => {
  const limitOf = (env: Record<string, string>) =>
    loadConfig({ APP_ENV: 'test', ...env }).seckill.saleLimit

  it('defaults to 10000/1s, reads its former name SECKILL_GLOBAL_LIMIT, and can be switched off', () => {
    expect(limitOf({})).toEqual({ tokens: 10_000, intervalMs: 1_000 })
    expect(limitOf({ SECKILL_SALE_LIMIT: '50/1m' })).toEqual({ tokens: 50, intervalMs: MIN })
    expect(limitOf({ SECKILL_GLOBAL_LIMIT: '7/10s' })).toEqual({ tokens: 7, intervalMs: 10_000 })
    expect(limitOf({ SECKILL_GLOBAL_LIMIT: 'off' })).toBeNull()
    expect(limitOf({ SECKILL_SALE_LIMIT: 'off' })).toBeNull()
    expect(limitOf({ SECKILL_SALE_LIMIT: '5/1s', SECKILL_GLOBAL_LIMIT: '5/1s' })).toEqual({
      tokens: 5,
      intervalMs: 1_000,
    })
  })

  it('refuses the two names disagreeing, and a malformed bucket', () => {
    expect(() => limitOf({ SECKILL_SALE_LIMIT: '5/1s', SECKILL_GLOBAL_LIMIT: 'off' })).toThrow(
      /SECKILL_SALE_LIMIT and SECKILL_GLOBAL_LIMIT/
    )
    expect(() => limitOf({ SECKILL_SALE_LIMIT: '5/1s,10/1m' })).toThrow(/SECKILL_SALE_LIMIT/)
    expect(() => limitOf({ SECKILL_GLOBAL_LIMIT: 'lots' })).toThrow(/SECKILL_GLOBAL_LIMIT/)
  })
})
