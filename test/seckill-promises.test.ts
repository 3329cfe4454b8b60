/**
 * The flash sale's promises under faults (issue 9), on the embedded adapters and on the real stack.
 * Each test names the fault it injects; all time moves on the manual clocks.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { MemoryStockLedger } from '../src/adapters/memory/stock-ledger.ts'
import { seckillDeps } from '../src/app/routes/seckill.ts'
import { reconcileSale } from '../src/domain/seckill/reconcile.ts'
import { appKinds, startTestApp, type TestApp } from './harness/app.ts'
import { runLoad } from './harness/load.ts'
import { directRedis } from './harness/redis.ts'
import { MIN, saleHelpers, seckillFaults } from './harness/seckill.ts'
import { makeUsers } from './harness/users.ts'

const ADMIN = 'seckill-promises-admin-token'
const HOUR = 60 * MIN

describe.each(appKinds(inject('services')))('flash-sale promises [%s]', (kind) => {
  let app: TestApp
  const f = seckillFaults()
  const { admin, createSale, grab, state, reconcile, advance } = saleHelpers(() => app, ADMIN)

  beforeAll(async () => {
    app = await startTestApp(kind, {
      env: {
        ADMIN_TOKEN: ADMIN,
        SEED_DEMO_DATA: 'true',
        SECKILL_USER_LIMIT: 'off',
        SECKILL_GLOBAL_LIMIT: 'off',
        SECKILL_PERSIST_RETRIES: '2',
        ORDER_PAY_TIMEOUT: '15m',
        RECONCILE_GRACE: '60s',
      },
      topics: f.topics,
      decorate: f.decorate,
    })
  })
  afterAll(() => app?.close())

  /** Every order of the sale is settled and both stocks equal initial − live orders. */
  async function expectConsistent(voucherId: string, initial: number) {
    const { ledger, dbStock, orders } = await state(voucherId)
    const live = orders.filter((o) => o.status === 'unpaid' || o.status === 'paid').length
    expect(dbStock).toBe(initial - live)
    expect(ledger).toMatchObject({ stock: initial - live, expectedStock: initial - live })
    expect(ledger).toMatchObject({ pending: 0, buyersOff: 0 })
    expect((await reconcile(voucherId)).drift).toBe(false)
    return orders
  }

  it('timeout publishes keep failing: reconciliation cancels the unpaid order past its deadline', async () => {
    const sale = await createSale({ stock: 3, endAt: new Date(app.clock.now() + 48 * HOUR) })
    const [u] = await makeUsers(app, 1)
    f.state.publishFails.add('orders.timeout')
    let orderId: string
    try {
      const res = await grab(sale.id, u!.token)
      expect(res.status).toBe(202)
      orderId = (await res.json()).orderId
      // The consumer persists, fails to schedule the timeout, is retried until dead-lettered.
      for (let i = 0; i < 4; i++) await advance(HOUR)
    } finally {
      f.state.publishFails.clear()
    }
    const stuck = await state(sale.id)
    expect(stuck.orders.map((o) => o.status)).toEqual(['unpaid'])
    const report = await reconcile(sale.id)
    expect(report.drift).toBe(true)
    expect(report.overdue).toEqual({ overdue: 1, cancelled: 0 })
    const repaired = await reconcile(sale.id, false)
    expect(repaired.overdue).toEqual({ overdue: 1, cancelled: 1 })
    const order = await (await app.fetch(`/orders/${orderId}`, { token: u!.token })).json()
    expect(order.status).toBe('cancelled')
    await expectConsistent(sale.id, 3)
    expect((await reconcile(sale.id, false)).overdue).toEqual({ overdue: 0, cancelled: 0 })
  })

  it('timeout deliveries keep failing: the dead-letter hand-off cancels, stock back once', async () => {
    const sale = await createSale({ stock: 2, endAt: new Date(app.clock.now() + 48 * HOUR) })
    const [u] = await makeUsers(app, 1)
    const { orderId } = await (await grab(sale.id, u!.token)).json()
    await app.settle()
    f.state.timeoutFails = true
    try {
      for (let i = 0; i < 8; i++) await advance(HOUR)
    } finally {
      f.state.timeoutFails = false
    }
    const order = await (await app.fetch(`/orders/${orderId}`, { token: u!.token })).json()
    expect(order.status).toBe('cancelled')
    await expectConsistent(sale.id, 2)
  })

  it('an accepted order stays readable, payable and cancellable while the consumer commits between our reads', async () => {
    const sale = await createSale({ stock: 5 })
    const users = await makeUsers(app, 3)
    f.state.publishFails.add('orders.persist') // stays pending until we commit it by hand
    const ids: string[] = []
    try {
      for (const u of users) ids.push((await (await grab(sale.id, u.token)).json()).orderId)
    } finally {
      f.state.publishFails.clear()
    }
    const deps = await app.deps()
    /** The consumer's commit (Postgres, then the ledger), run right after our Postgres read. */
    const commitAfterRead = (i: number) => {
      f.state.afterRead = async (id) => {
        expect(id).toBe(ids[i])
        const held = (await deps.ledger.find(sale.id, id))!
        await deps.orders.persist(
          { id, userId: held.userId, voucherId: sale.id, seq: held.seq },
          app.clock.now()
        )
        await deps.ledger.transition(sale.id, id, 'committed', ['pending'])
      }
    }
    const before = await app.fetch(`/orders/${ids[0]}`, { token: users[0]!.token })
    expect((await before.json()).status).toBe('pending')
    commitAfterRead(0)
    const status = await app.fetch(`/orders/${ids[0]}`, { token: users[0]!.token })
    expect(status.status).toBe(200)
    expect((await status.json()).status).toBe('unpaid')
    expect(f.state.afterRead).toBeNull() // the hook ran
    // pay and cancel read Postgres through the same repository: 'pay' misses, then finds it
    const pending = await app.fetch(`/orders/${ids[1]}/pay`, {
      method: 'POST',
      token: users[1]!.token,
    })
    expect((await pending.json()).code).toBe('ORDER_PENDING')
    // someone else's order is not found, pending or not
    expect((await app.fetch(`/orders/${ids[1]}`, { token: users[0]!.token })).status).toBe(404)
    expect((await app.fetch(`/orders/${ids[0]}`, { token: users[1]!.token })).status).toBe(404)
    await app.settle()
  })

  it.runIf(kind === 'real')(
    'a lookup costs a constant number of Redis commands, however many sales exist',
    async () => {
      const sales = []
      for (let i = 0; i < 25; i++) sales.push(await createSale({ stock: 2 }))
      const [u] = await makeUsers(app, 1)
      f.state.publishFails.add('orders.persist')
      let orderId: string
      try {
        orderId = (await (await grab(sales[24]!.id, u!.token)).json()).orderId
      } finally {
        f.state.publishFails.clear()
      }
      // Count the commands that touch the flash sale's keys.
      let saleCommands = 0
      const counter = app.stack!.gateway.faults.add({
        mode: 'drop-reply',
        match: (c) => {
          if (c.some((a) => a.startsWith(`${app.prefix}sk:`))) saleCommands += 1
          return false
        },
      })
      try {
        const pending = await app.fetch(`/orders/${orderId}`, { token: u!.token })
        expect((await pending.json()).status).toBe('pending')
        expect(saleCommands).toBe(2) // the saleOf index, then the sale's record
        saleCommands = 0
        expect((await app.fetch('/orders/123456789', { token: u!.token })).status).toBe(404)
        expect(saleCommands).toBe(1)
      } finally {
        counter.remove()
      }
      await app.settle()
    }
  )

  it('reconciliation does bounded work per tick and covers the whole sale over ticks', async () => {
    const sale = await createSale({ stock: 30 })
    const users = await makeUsers(app, 25)
    for (const u of users) expect((await grab(sale.id, u.token)).status).toBe(202)
    await app.settle()
    const deps = seckillDeps(await app.deps())
    const orders = (await deps.orders.listByVoucher(sale.id)).sort((a, b) =>
      BigInt(a.id) < BigInt(b.id) ? -1 : 1
    )
    const last = orders.at(-1)!
    // Lose the last order's commit in Redis (a lost write): only the tick that reaches it sees it.
    await deps.ledger.transition(sale.id, last.id, 'failed', 'any')
    const tick = () => reconcileSale(deps, sale.id, { repair: true, graceMs: MIN, batch: 10 })
    const kinds = async () => (await tick()).drifts.map((d) => `${d.orderId ?? ''} ${d.kind}`)
    expect(await kinds()).toEqual([])
    expect(await kinds()).toEqual([])
    expect(await kinds()).toEqual([`${last.id} failed->committed`]) // the 3rd batch: repaired
    expect(await kinds()).toEqual([]) // a new pass from the start
    expect(await deps.ledger.audit(sale.id, false)).toMatchObject({
      stock: 5,
      expectedStock: 5,
      committed: 25,
      buyersOff: 0,
    })
  })

  it('reconciliation leaves young pending reservations alone and republishes old ones', async () => {
    const sale = await createSale({ stock: 5 })
    const [u] = await makeUsers(app, 1)
    f.state.publishFails.add('orders.persist')
    try {
      expect((await grab(sale.id, u!.token)).status).toBe(202)
      expect((await reconcile(sale.id, false)).drift).toBe(false) // younger than the grace
      await app.clock.advance(2 * MIN)
    } finally {
      f.state.publishFails.clear()
    }
    const report = await reconcile(sale.id, false)
    expect(report.sales[0].drifts.map((d: { kind: string }) => d.kind)).toEqual([
      'pending-not-persisted',
    ])
    await app.settle()
    const orders = await expectConsistent(sale.id, 5)
    expect(orders.map((o) => o.status)).toEqual(['unpaid'])
  })

  it('per-user limit 3: buy, fail, buy again up to the limit — every slot reused correctly', async () => {
    const sale = await createSale({
      stock: 10,
      perUserLimit: 3,
      endAt: new Date(app.clock.now() + 48 * HOUR),
    })
    const [u] = await makeUsers(app, 1)
    const buy = async () => {
      const res = await grab(sale.id, u!.token)
      expect(res.status).toBe(202)
      return (await res.json()).orderId as string
    }
    f.state.publishFails.add('orders.persist')
    const first = await buy() // slot 1, held back in the outbox
    f.state.publishFails.clear()
    await buy() // slot 2, persisted
    await app.settle()
    f.state.failOrders.add(first)
    await app.clock.advance(MIN) // the relay republishes the first; it fails until dead-lettered
    const relay = await app.fetch('/admin/seckill/relay', { method: 'POST', headers: admin })
    expect(relay.status).toBe(200)
    for (let i = 0; i < 4; i++) await advance(HOUR)
    f.state.failOrders.clear()
    await buy() // slot 1 again: slot 2 is still held
    await buy() // slot 3
    const refused = await grab(sale.id, u!.token)
    expect((await refused.json()).code).toBe('ALREADY_PURCHASED')
    await app.settle()
    const orders = await expectConsistent(sale.id, 10)
    // failed: slot 1 given back; held: 1 (reused), 2 (its payment timed out meanwhile: a
    // cancelled order keeps its slot), 3
    const seqs = (held: boolean) =>
      orders
        .filter((o) => (o.status !== 'failed') === held)
        .map((o) => o.seq)
        .sort()
    expect(seqs(false)).toEqual([1])
    expect(seqs(true)).toEqual([1, 2, 3])
  })

  it('a sale past its end answers SALE_ENDED without reloading its ledger', async () => {
    const sale = await createSale({ stock: 5 })
    const [a, b] = await makeUsers(app, 2)
    expect((await grab(sale.id, a!.token)).status).toBe(202)
    await app.settle()
    await advance(2 * HOUR) // past the end
    // the ledger's keys are gone (expired after the retention, or lost)
    const deps = await app.deps()
    if (kind === 'memory') (deps.ledger as MemoryStockLedger).drop(sale.id)
    else {
      const direct = await directRedis()
      await direct.del(await direct.keys(`${app.prefix}sk:{${sale.id}}*`))
      await direct.quit()
    }
    const late = await grab(sale.id, b!.token)
    expect(late.status).toBe(409)
    expect((await late.json()).code).toBe('SALE_ENDED')
    expect(await deps.ledger.counters(sale.id)).toBeNull() // not reloaded
    expect((await grab('999999999', b!.token)).status).toBe(404)
  })

  it.runIf(kind === 'real')(
    'flood under lost replies: 2,000 requests from 1,500 users on stock 100, 10 % of Redis replies dropped',
    async () => {
      const sale = await createSale({ stock: 100 })
      let t = performance.now()
      const users = await makeUsers(app, 1500)
      console.log(`flood: users ${Math.round(performance.now() - t)} ms`)
      t = performance.now()
      const tokens = [...users, ...users.slice(0, 500)].map((u) => u.token)
      const path = `/vouchers/${sale.id}/seckill`
      // Every request carries an Idempotency-Key, as a client that retries should.
      const requests = tokens.map((token, i) => ({
        path,
        method: 'POST',
        token,
        headers: { 'idempotency-key': `flood-${i}` },
      }))
      const gateway = app.stack!.gateway
      gateway.faults.resetStats()
      const lossy = gateway.faults.add({ mode: 'drop-reply', fraction: 0.1, seed: 9 })
      let responses: Awaited<ReturnType<typeof runLoad>>
      try {
        responses = await runLoad(app.url, requests, { concurrency: 100 })
      } finally {
        lossy.remove()
      }
      console.log(`flood: load ${Math.round(performance.now() - t)} ms`, gateway.faults.stats())
      expect(gateway.faults.stats().dropReply).toBeGreaterThan(100)
      expect(new Set(responses.map((r) => r.status))).toSatisfy((codes: Set<number>) =>
        [...codes].every((c) => c === 202 || c === 409 || c === 503)
      )
      // The client retries what failed (503: every attempt lost), with the same key.
      const failed = responses.flatMap((r, i) => (r.status === 503 ? [i] : []))
      const retried = await runLoad(
        app.url,
        failed.map((i) => requests[i]!),
        { concurrency: 20 }
      )
      for (const [j, i] of failed.entries()) responses[i] = retried[j]!
      expect(responses.filter((r) => r.status !== 202 && r.status !== 409)).toEqual([])
      const accepted = responses.filter((r) => r.status === 202).map((r) => r.json().orderId)
      const refusals = new Set(responses.filter((r) => r.status === 409).map((r) => r.json().code))
      expect([...refusals].every((c) => c === 'SOLD_OUT' || c === 'ALREADY_PURCHASED')).toBe(true)
      // A key's replay answers the same order: count distinct orders.
      const ids = new Set(accepted)
      expect(ids.size).toBe(100)

      await app.clock.advance(MIN) // the relay picks up anything whose publish was lost
      await app.fetch('/admin/seckill/relay', { method: 'POST', headers: admin })
      await app.settle()
      const orders = await expectConsistent(sale.id, 100)
      expect(orders).toHaveLength(100)
      expect(new Set(orders.map((o) => o.userId)).size).toBe(100)
      expect(new Set(orders.map((o) => o.id))).toEqual(ids)
      expect(orders.every((o) => o.status === 'unpaid')).toBe(true)
      const byToken = new Map(users.map((u) => [u.id, u.token]))
      const reads = await runLoad(
        app.url,
        orders.map((o) => ({ path: `/orders/${o.id}`, token: byToken.get(o.userId)! })),
        { concurrency: 20 }
      )
      expect(reads.every((r) => r.status === 200 && r.json().status === 'unpaid')).toBe(true)
    },
    240_000
  )

  it.runIf(kind === 'real')(
    'Postgres unreachable in the middle of persistence: every order lands once when it is back',
    async () => {
      const sale = await createSale({ stock: 30 })
      const users = await makeUsers(app, 20)
      const neon = app.stack!.neon
      neon.faults.refuse() // until resumed: new connections fail …
      neon.faults.cutAll() // … and open ones are cut
      const ids: string[] = []
      try {
        for (const u of users) {
          const res = await grab(sale.id, u.token) // the hot path needs no Postgres
          expect(res.status).toBe(202)
          ids.push((await res.json()).orderId)
        }
        await app.settle() // every persist delivery fails and is scheduled for a retry
        expect(neon.faults.stats().refused).toBeGreaterThan(0)
        // Meanwhile a read that needs Postgres is a clean 503 to retry, not a 500.
        const down = await app.fetch(`/orders/${ids[0]}`, { token: users[0]!.token })
        expect(down.status).toBe(503)
        expect(await down.json()).toMatchObject({
          code: 'DEPENDENCY_UNAVAILABLE',
          dependency: 'database',
        })
      } finally {
        neon.faults.resume()
      }
      await advance(3 * MIN) // QStash's backoff: 12 s, then 2.5 min
      const orders = await expectConsistent(sale.id, 30)
      expect(new Set(orders.map((o) => o.id))).toEqual(new Set(ids))
      expect(orders.every((o) => o.status === 'unpaid')).toBe(true)
      for (const [i, id] of ids.entries()) {
        const res = await app.fetch(`/orders/${id}`, { token: users[i]!.token })
        expect((await res.json()).status).toBe('unpaid')
      }
    }
  )

  it.runIf(kind === 'real')(
    'a ledger loaded before the counters were kept is audited once, never "fixed" from zeros',
    async () => {
      const sale = await createSale({ stock: 10 })
      const users = await makeUsers(app, 3)
      for (const u of users) expect((await grab(sale.id, u.token)).status).toBe(202)
      await app.settle()
      const direct = await directRedis()
      await direct.hDel(`${app.prefix}sk:{${sale.id}}`, ['np', 'nc', 'nk', 'nx'])
      await direct.quit()
      const deps = seckillDeps(await app.deps())
      const first = await reconcileSale(deps, sale.id, { repair: true, graceMs: MIN })
      expect(first.drifts.map((d) => d.kind)).toEqual(['ledger-counters-missing'])
      expect(await deps.ledger.counters(sale.id)).toMatchObject({
        stock: 7,
        committed: 3,
        counted: true,
      })
      expect((await reconcileSale(deps, sale.id, { repair: true, graceMs: MIN })).drifts).toEqual(
        []
      )
    }
  )
})
