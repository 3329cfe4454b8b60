import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { appKinds, startTestApp, type TestApp, tcpAppKinds } from './harness/app.ts'
import { createSale as createSaleOver } from './harness/flows.ts'
import { runLoad } from './harness/load.ts'
import { type DirectRedis, directRedis } from './harness/redis.ts'
import { acceptedOf, floodOf, publishHold, saleHelpers, seckillFaults } from './harness/seckill.ts'
import { makeUsers, type TestUser } from './harness/users.ts'

const ADMIN = 'seckill-test-admin-token'
const MIN = 60_000

// Memory, the REST/WebSocket stand-ins, and Redis + Postgres over TCP (one Redis, and the cluster).
const kinds = [...appKinds(inject('services')), ...tcpAppKinds(inject('services'))]
describe.each(kinds)('flash sale end to end [%s]', (kind) => {
  let app: TestApp
  const f = seckillFaults()
  const admin = { authorization: `Bearer ${ADMIN}` }

  beforeAll(async () => {
    app = await startTestApp(kind, {
      env: {
        ADMIN_TOKEN: ADMIN,
        SEED_DEMO_DATA: 'true',
        SECKILL_USER_LIMIT: 'off',
        SECKILL_GLOBAL_LIMIT: 'off',
        SECKILL_PERSIST_RETRIES: '3',
        ORDER_PAY_TIMEOUT: '15m',
      },
      topics: f.topics,
      decorate: f.decorate,
    })
  })
  afterAll(() => app?.close())

  const { createSale, grab, state, reconcile, checkSale } = saleHelpers(() => app, ADMIN)

  async function dbOrders(voucherId: string) {
    return (await app.deps()).orders.listByVoucher(voucherId)
  }

  it('2,000 concurrent requests from 1,500 users on stock 100: exactly 100 orders, nobody twice', async () => {
    const sale = await createSale({ stock: 100 })
    const flood = floodOf(sale.id, await makeUsers(app, 1500), 1, { idempotencyKeys: false })
    // Bounded concurrency over keep-alive sockets (see test/harness/load.ts for why not fetch).
    const responses = await runLoad(app.url, flood.requests, { concurrency: 200 })
    const accepted = acceptedOf(flood, responses)
    expect(accepted.size).toBe(100)
    const refused = responses.filter((r) => r.status === 409).map((r) => r.json().code)
    expect(refused).toHaveLength(1900)
    expect(new Set(refused)).toEqual(new Set(['SOLD_OUT', 'ALREADY_PURCHASED']))
    const bodies = responses.filter((r) => r.status === 202).map((r) => r.json())
    expect(bodies.every((b) => b.status === 'pending' && /^\d+$/.test(b.orderId))).toBe(true)

    await app.settle()
    const orders = await checkSale(sale.id, 100, { accepted })
    expect(orders.every((o) => o.status === 'unpaid')).toBe(true)
    expect((await state(sale.id)).ledger).toMatchObject({ stock: 0, committed: 100 })
    // Group commit: acceptances of one turn of the event loop shared persist messages.
    const groups = f.state.persistGroups.filter((g) => g.some((id) => accepted.has(id)))
    expect(groups.flat().sort()).toEqual([...accepted.keys()].sort())
    expect(groups.length).toBeLessThan(100)
  }, 180_000) // 1,500 users + 2,000 requests + settle: ~60 s on the real stack on a busy 2-core machine

  it('walks an order through pending → unpaid → paid, owner only, with string ids', async () => {
    const sale = await createSale({ stock: 5 })
    const [buyer, other] = await makeUsers(app, 2)
    const res = await grab(sale.id, buyer!.token)
    expect(res.status).toBe(202)
    const { orderId } = await res.json()
    // Persisting is asynchronous: right after the 202 the order may still be pending.
    const early = await app.fetch(`/orders/${orderId}`, { token: buyer!.token })
    expect(early.status).toBe(200)
    expect(['pending', 'unpaid']).toContain((await early.json()).status)
    await app.settle()
    const order = await (await app.fetch(`/orders/${orderId}`, { token: buyer!.token })).json()
    expect(order).toMatchObject({ id: orderId, voucherId: sale.id, status: 'unpaid' })
    expect((await app.fetch(`/orders/${orderId}`, { token: other!.token })).status).toBe(404)
    const paid = await app.fetch(`/orders/${orderId}/pay`, { method: 'POST', token: buyer!.token })
    expect((await paid.json()).status).toBe('paid')
    const again = await app.fetch(`/orders/${orderId}/pay`, { method: 'POST', token: buyer!.token })
    expect(again.status).toBe(200) // idempotent
    const cancel = await app.fetch(`/orders/${orderId}/cancel`, {
      method: 'POST',
      token: buyer!.token,
    })
    expect(cancel.status).toBe(409)
    expect((await cancel.json()).code).toBe('ORDER_NOT_CANCELLABLE')
  })

  it('refuses outside the sale window, unknown vouchers and anonymous callers', async () => {
    const now = app.clock.now()
    const later = await createSale({
      beginAt: new Date(now + 10 * MIN).toISOString(),
      endAt: new Date(now + 20 * MIN).toISOString(),
    })
    const [u] = await makeUsers(app, 1)
    const early = await grab(later.id, u!.token)
    expect(early.status).toBe(409)
    expect(early.headers.get('content-type')).toBe('application/problem+json')
    expect(await early.json()).toEqual({
      type: 'urn:problem:SALE_NOT_STARTED',
      title: 'the sale has not started',
      status: 409,
      code: 'SALE_NOT_STARTED',
      requestId: early.headers.get('x-request-id'),
    })
    await app.clock.advance(20 * MIN)
    const late = await grab(later.id, u!.token)
    expect((await late.json()).code).toBe('SALE_ENDED')
    expect((await grab('999999999', u!.token)).status).toBe(404)
    expect((await app.fetch(`/vouchers/${later.id}/seckill`, { method: 'POST' })).status).toBe(401)
    const bad = await grab(later.id, u!.token, { 'idempotency-key': 'has spaces' })
    expect(bad.status).toBe(400)
    expect((await bad.json()).errors[0].path).toBe('header.idempotency-key')
  })

  it('an Idempotency-Key replays the first response instead of buying again', async () => {
    const sale = await createSale({ stock: 10, perUserLimit: 3 })
    const [u] = await makeUsers(app, 1)
    const first = await grab(sale.id, u!.token, { 'idempotency-key': 'checkout-1' })
    const second = await grab(sale.id, u!.token, { 'idempotency-key': 'checkout-1' })
    expect(first.status).toBe(202)
    expect(second.status).toBe(202)
    expect(second.headers.get('idempotent-replayed')).toBe('true')
    expect((await second.json()).orderId).toBe((await first.json()).orderId)
    const third = await grab(sale.id, u!.token, { 'idempotency-key': 'checkout-2' })
    expect(third.status).toBe(202) // a new key is a new purchase (limit 3)
    await app.settle()
    expect(await dbOrders(sale.id)).toHaveLength(2)
  })

  it('persists every order exactly once when the consumer fails its first 2 deliveries', async () => {
    const sale = await createSale({ stock: 20 })
    const users = await makeUsers(app, 20)
    f.state.failFirst = 2
    try {
      const res = await Promise.all(users.map((u) => grab(sale.id, u.token)))
      expect(await Promise.all(res.map((r) => (r.status === 202 ? 202 : r.json())))).toEqual(
        users.map(() => 202)
      )
      for (let i = 0; i < 3; i++) {
        await app.settle()
        // Backoff 12 s, then 2.5 min; staying under the 15-minute payment timeout.
        await app.clock.advance(3 * MIN)
        await app.stack?.qstash.advance(3 * MIN)
      }
      await app.settle()
    } finally {
      f.state.failFirst = 0
    }
    const { ledger, dbStock, orders } = await state(sale.id)
    expect(orders).toHaveLength(20)
    expect(orders.every((o) => o.status === 'unpaid')).toBe(true)
    expect(dbStock).toBe(0)
    expect(ledger).toMatchObject({ stock: 0, committed: 20, pending: 0 })
  })

  it('a consumer that always fails: orders end failed, stock and quota come back, no drift', async () => {
    const sale = await createSale({
      stock: 3,
      endAt: new Date(app.clock.now() + 48 * 3_600_000).toISOString(),
    })
    const users = await makeUsers(app, 3)
    f.state.failAlways = true
    let ids: string[]
    try {
      const res = await Promise.all(users.map((u) => grab(sale.id, u.token)))
      ids = (await Promise.all(res.map((r) => r.json()))).map((b) => b.orderId)
      for (let i = 0; i < 6; i++) {
        await app.settle()
        await app.clock.advance(2 * 3_600_000)
        await app.stack?.qstash.advance(2 * 3_600_000)
      }
      await app.settle()
    } finally {
      f.state.failAlways = false
    }
    const { ledger, dbStock, orders } = await state(sale.id)
    expect(orders.map((o) => o.status)).toEqual(['failed', 'failed', 'failed'])
    expect(new Set(orders.map((o) => o.id))).toEqual(new Set(ids))
    expect(dbStock).toBe(3)
    expect(ledger).toMatchObject({ stock: 3, expectedStock: 3, failed: 3, buyersOff: 0 })
    const order = await (await app.fetch(`/orders/${ids[0]}`, { token: users[0]!.token })).json()
    expect(order.status).toBe('failed')
    expect((await reconcile(sale.id)).drift).toBe(false)
    // The quota came back: the same user can buy again.
    expect((await grab(sale.id, users[0]!.token)).status).toBe(202)
  })

  it('when publishing fails, the outbox relay delivers later', async () => {
    const sale = await createSale({ stock: 5 })
    const users = await makeUsers(app, 5)
    f.state.publishDown = true
    try {
      const res = await Promise.all(users.map((u) => grab(sale.id, u.token)))
      expect(res.every((r) => r.status === 202)).toBe(true) // accepted: the outbox holds them
      await app.settle()
    } finally {
      f.state.publishDown = false
    }
    expect(await dbOrders(sale.id)).toHaveLength(0)
    expect((await state(sale.id)).ledger?.pending).toBe(5)
    await app.clock.advance(MIN) // older than SECKILL_RELAY_AFTER
    const relay = await app.fetch('/admin/seckill/relay', { method: 'POST', headers: admin })
    expect((await relay.json()).republished).toBeGreaterThanOrEqual(5)
    await app.settle()
    const { ledger, orders } = await state(sale.id)
    expect(orders).toHaveLength(5)
    expect(ledger).toMatchObject({ pending: 0, committed: 5, stock: 0 })
  })

  /** One accepted purchase whose queue publish failed: the order waits in the outbox. */
  async function acceptedWhileQueueDown(saleId: string, token: string): Promise<string> {
    f.state.publishDown = true
    try {
      const res = await grab(saleId, token)
      expect(res.status).toBe(202)
      const { orderId } = (await res.json()) as { orderId: string }
      await app.settle()
      return orderId
    } finally {
      f.state.publishDown = false
    }
  }

  it("the relay writes back an accepted order's lost order-to-sale record before republishing it", async () => {
    const sale = await createSale({ stock: 5 })
    const [u] = await makeUsers(app, 1)
    const orderId = await acceptedWhileQueueDown(sale.id, u!.token)
    const deps = await app.deps()
    expect(await deps.ledger.saleOf(orderId)).toBe(sale.id) // written before the 202
    await deps.ledger.forget(orderId) // as if the process died between the script and the record
    await app.clock.advance(MIN) // older than SECKILL_RELAY_AFTER
    const relay = await app.fetch('/admin/seckill/relay', { method: 'POST', headers: admin })
    expect((await relay.json()).republished).toBeGreaterThanOrEqual(1)
    expect(await deps.ledger.saleOf(orderId)).toBe(sale.id)
    await app.settle()
    const order = await (await app.fetch(`/orders/${orderId}`, { token: u!.token })).json()
    expect(order.status).toBe('unpaid')
  })

  it("reconciliation's repair writes back a lost order-to-sale record before republishing the order", async () => {
    const sale = await createSale({ stock: 5 })
    const [u] = await makeUsers(app, 1)
    const orderId = await acceptedWhileQueueDown(sale.id, u!.token)
    const deps = await app.deps()
    await deps.ledger.forget(orderId) // as if the process died between the script and the record
    await app.clock.advance(2 * MIN) // past the reconciliation grace (60 s)
    const res = await app.fetch('/admin/seckill/reconcile', {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ voucherId: sale.id }),
    })
    expect(res.status).toBe(200)
    expect(JSON.stringify(await res.json())).toContain('pending-not-persisted')
    expect(await deps.ledger.saleOf(orderId)).toBe(sale.id)
    await app.settle()
    const order = await (await app.fetch(`/orders/${orderId}`, { token: u!.token })).json()
    expect(order.status).toBe('unpaid')
  })

  it('a refused purchase leaves no order-to-sale record; over TCP it takes no forget call', async () => {
    const sale = await createSale({ stock: 1 })
    const [a, b] = await makeUsers(app, 2)
    const deps = await app.deps()
    const forget = vi.spyOn(deps.ledger, 'forget')
    try {
      const first = BigInt(await deps.ids.next('order'))
      const answers = [await grab(sale.id, a!.token), await grab(sale.id, b!.token)]
      const last = BigInt(await deps.ids.next('order'))
      await app.settle()
      expect(answers.map((r) => r.status)).toEqual([202, 409])
      const won = ((await answers[0]!.json()) as { orderId: string }).orderId
      const lost = [...Array(Number(last - first) - 1)]
        .map((_, i) => String(first + 1n + BigInt(i)))
        .filter((id) => id !== won)
      expect(lost).toHaveLength(1)
      expect(await deps.ledger.saleOf(lost[0]!)).toBeNull()
      expect(await deps.ledger.saleOf(won)).toBe(sale.id)
      // REST writes the record in the reservation's own HTTP request, then forgets a refused one.
      expect(forget.mock.calls).toEqual(kind === 'real' ? [[lost[0]]] : [])
    } finally {
      forget.mockRestore()
    }
  })

  it('duplicate deliveries of one message create one order', async () => {
    const sale = await createSale({ stock: 5 })
    const [u] = await makeUsers(app, 1)
    const { orderId } = await (await grab(sale.id, u!.token)).json()
    await app.settle()
    const deps = await app.deps()
    const message = (await dbOrders(sale.id)).map((o) => ({
      orderId: o.id,
      voucherId: o.voucherId,
      userId: o.userId,
      seq: o.seq,
      acceptedAt: o.createdAt,
    }))[0]!
    await Promise.all([1, 2, 3].map(() => deps.queue.publish('orders.persist', message)))
    await app.settle()
    const orders = await dbOrders(sale.id)
    expect(orders.map((o) => o.id)).toEqual([orderId])
    expect((await state(sale.id)).dbStock).toBe(4)
    expect((await state(sale.id)).ledger?.stock).toBe(4)
  })

  it('a group message: one outcome per order, a refused one fails alone, a redelivery changes nothing', async () => {
    const sale = await createSale({ stock: 5 })
    const users = await makeUsers(app, 3)
    const ids = []
    for (const u of users) ids.push(await acceptedWhileQueueDown(sale.id, u.token))
    const deps = await app.deps()
    const held = await deps.ledger.outbox(sale.id, app.clock.now() + 1, 10)
    const group = ids.map((id) => {
      const { orderId, voucherId, userId, seq, acceptedAt } = held.find((r) => r.orderId === id)!
      return { orderId, voucherId, userId, seq, acceptedAt }
    })
    // The database cannot take the second order: a rival order holds its user's slot.
    const rival = { ...group[1]!, orderId: await deps.ids.next('order') }
    const taken = await deps.orders.persist(
      { id: rival.orderId, userId: rival.userId, voucherId: sale.id, seq: rival.seq },
      app.clock.now()
    )
    expect(taken.result).toBe('created')
    for (let round = 0; round < 2; round++) {
      await deps.queue.publish('orders.persist', { orders: group })
      await app.settle()
      const byId = new Map((await dbOrders(sale.id)).map((o) => [o.id, o]))
      expect(ids.map((id) => byId.get(id)?.status)).toEqual(['unpaid', 'failed', 'unpaid'])
      expect(ids.map((id) => byId.get(id)?.createdAt)).toEqual(group.map((m) => m.acceptedAt))
      // Database: the two orders and the rival; the ledger: the failed one gave its unit back.
      expect((await state(sale.id)).dbStock).toBe(2)
      expect((await state(sale.id)).ledger).toMatchObject({ stock: 3, pending: 0, committed: 2 })
    }
    // One timeout message for the group: each unpaid order is cancelled, its unit back once.
    await deps.queue.publish('orders.timeout', { orderIds: ids })
    await app.settle()
    const byId = new Map((await dbOrders(sale.id)).map((o) => [o.id, o]))
    expect(ids.map((id) => byId.get(id)?.status)).toEqual(['cancelled', 'failed', 'cancelled'])
    expect((await state(sale.id)).dbStock).toBe(4)
    expect((await state(sale.id)).ledger).toMatchObject({ stock: 5, committed: 0 })
  })

  it('cancels an unpaid order on payment timeout, returning stock once', async () => {
    const sale = await createSale({ stock: 2 })
    const [u] = await makeUsers(app, 1)
    const { orderId } = await (await grab(sale.id, u!.token)).json()
    await app.settle()
    expect((await state(sale.id)).dbStock).toBe(1)
    await app.clock.advance(15 * MIN)
    await app.stack?.qstash.advance(15 * MIN)
    await app.settle()
    const order = await (await app.fetch(`/orders/${orderId}`, { token: u!.token })).json()
    expect(order.status).toBe('cancelled')
    const { ledger, dbStock } = await state(sale.id)
    expect(dbStock).toBe(2)
    expect(ledger).toMatchObject({ stock: 2, cancelled: 1 })
    // A late explicit cancel changes nothing more.
    const again = await app.fetch(`/orders/${orderId}/cancel`, { method: 'POST', token: u!.token })
    expect(again.status).toBe(200)
    expect((await state(sale.id)).ledger?.stock).toBe(2)
    expect((await state(sale.id)).dbStock).toBe(2)
  })

  it('pay and cancel racing on one order: exactly one wins, stock returned at most once', async () => {
    const sale = await createSale({ stock: 10 })
    const users = await makeUsers(app, 5)
    const ids = await Promise.all(
      users.map(async (u) => (await (await grab(sale.id, u.token)).json()).orderId as string)
    )
    await app.settle()
    await Promise.all(
      users.flatMap((u, i) => [
        ...Array.from({ length: 5 }, () =>
          app.fetch(`/orders/${ids[i]}/pay`, { method: 'POST', token: u.token })
        ),
        ...Array.from({ length: 5 }, () =>
          app.fetch(`/orders/${ids[i]}/cancel`, { method: 'POST', token: u.token })
        ),
      ])
    )
    await app.settle()
    const { orders, dbStock, ledger } = await state(sale.id)
    const paid = orders.filter((o) => o.status === 'paid').length
    const cancelled = orders.filter((o) => o.status === 'cancelled').length
    expect(paid + cancelled).toBe(5)
    expect(dbStock).toBe(5 + cancelled)
    expect(ledger?.stock).toBe(5 + cancelled)
  })

  it('reconciliation reports drift in Redis and Postgres and repairs it', async () => {
    const sale = await createSale({ stock: 10 })
    const users = await makeUsers(app, 4)
    await Promise.all(users.map((u) => grab(sale.id, u.token)))
    await app.settle()
    expect((await reconcile(sale.id)).drift).toBe(false)
    const deps = await app.deps()
    // Lose one committed order in Redis (as if a write was lost) and double-count it in Postgres.
    const [victim] = await dbOrders(sale.id)
    await deps.ledger.transition(sale.id, victim!.id, 'failed', 'any')
    const report = await reconcile(sale.id)
    expect(report.drift).toBe(true)
    expect(report.sales[0].drifts).toContainEqual({
      orderId: victim!.id,
      kind: 'failed->committed',
    })
    const repaired = await reconcile(sale.id, false)
    expect(repaired.sales[0].repaired).toBe(true)
    expect((await reconcile(sale.id)).drift).toBe(false)
    expect((await state(sale.id)).ledger).toMatchObject({ stock: 6, committed: 4, buyersOff: 0 })
  })
})

describe.skipIf(!inject('services').redis || !inject('services').postgres)(
  'flash sale hot path on the real stack: round trips, outages, reloads, rate limits',
  () => {
    let app: TestApp
    let users: TestUser[]
    let direct: DirectRedis
    const publishes = publishHold()

    beforeAll(async () => {
      app = await startTestApp('real', {
        decorate: publishes.decorate,
        env: {
          ADMIN_TOKEN: ADMIN,
          SEED_DEMO_DATA: 'true',
          SECKILL_USER_LIMIT: '3/1m',
          SECKILL_GLOBAL_LIMIT: '100000/1s',
          SESSION_TTL: '30m',
        },
      })
      users = await makeUsers(app, 20)
      direct = await directRedis()
    })
    afterAll(async () => {
      await direct?.quit()
      await app?.close()
    })

    const createSale = async (stock = 100) =>
      (
        await createSaleOver(app.fetch, ADMIN, app.clock.now(), {
          stock,
          perUserLimit: 5,
          endAt: new Date(app.clock.now() + 600 * MIN).toISOString(),
        })
      ).id
    const grab = (voucherId: string, token: string) =>
      app.fetch(`/vouchers/${voucherId}/seckill`, { method: 'POST', token })

    it('costs at most 2 Redis HTTP round trips per request, renewal included', async () => {
      const sale = await createSale()
      const gateway = app.stack!.gateway
      await grab(sale, users[0]!.token) // warm: scripts loaded, sale in Redis
      await app.settle()
      publishes.hold()
      for (const user of users.slice(1, 6)) {
        gateway.resetStats()
        const res = await grab(sale, user.token)
        expect(res.status).toBe(202)
        expect(gateway.stats().requests).toBeLessThanOrEqual(2)
      }
      // A login session that is due for renewal renews inside the same second round trip.
      const deps = await app.deps()
      const token = deps.ids.token()
      const u = users[7]!
      await deps.sessions.create(token, { id: u.id, nickname: 'n', icon: '' }, 30 * MIN)
      await app.clock.advance(16 * MIN)
      gateway.resetStats()
      expect((await grab(sale, token)).status).toBe(202)
      expect(gateway.stats().requests).toBeLessThanOrEqual(2)
      expect((await deps.sessions.get(token))?.renewals).toBe(1)
      await publishes.release()
      await app.settle()
      expect(await deps.orders.listByVoucher(sale)).toHaveLength(7)
    })

    it('answers 429 with RateLimit headers once the per-user bucket is empty', async () => {
      const sale = await createSale()
      const u = users[10]!
      const codes = []
      for (let i = 0; i < 4; i++) {
        const res = await grab(sale, u.token)
        codes.push(res.status)
        if (i === 0) {
          expect(res.headers.get('ratelimit-limit')).toBe('3')
          expect(res.headers.get('ratelimit-remaining')).toBe('2')
        }
        if (res.status === 429) {
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
          expect((await res.json()).code).toBe('RATE_LIMITED')
        }
      }
      expect(codes).toEqual([202, 202, 202, 429])
      await app.settle()
    })

    it('Redis unreachable → 503 and nothing half-done', async () => {
      const sale = await createSale(10)
      const deps = await app.deps()
      const before = await deps.ledger.audit(sale, false)
      await app.stack!.gateway.suspend()
      try {
        const res = await grab(sale, users[12]!.token)
        expect(res.status).toBe(503)
        expect((await res.json()).code).toBe('DEPENDENCY_UNAVAILABLE')
      } finally {
        await app.stack!.gateway.resume()
      }
      await app.settle()
      expect(await deps.ledger.audit(sale, false)).toEqual(before)
      expect(await deps.orders.listByVoucher(sale)).toHaveLength(0)
    })

    it('reloads a sale whose Redis keys are gone, keeping one-per-user for existing buyers', async () => {
      const sale = await createSale(5)
      const [a, b] = [users[14]!, users[15]!]
      expect((await grab(sale, a.token)).status).toBe(202)
      await app.settle()
      const keys = await direct.keys(`${app.prefix}sk:{${sale}}*`)
      expect(keys.length).toBeGreaterThan(0)
      await direct.del(keys)
      expect((await grab(sale, b.token)).status).toBe(202) // loaded from Postgres on demand
      await app.settle()
      const deps = await app.deps()
      expect(await deps.ledger.audit(sale, false)).toMatchObject({ stock: 3, committed: 2 })
      // a still holds its order: its quota came back from Postgres (perUserLimit 5 → 4 left).
      const held = (await deps.ledger.reservations(sale))!.filter((r) => r.userId === a.id)
      expect(held).toHaveLength(1)
    })
  }
)
