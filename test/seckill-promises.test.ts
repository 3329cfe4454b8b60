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
import {
  acceptedOf,
  floodOf,
  MIN,
  pickFraction,
  saleHelpers,
  seckillFaults,
} from './harness/seckill.ts'
import { makeUsers, type TestUser } from './harness/users.ts'

const ADMIN = 'seckill-promises-admin-token'
const HOUR = 60 * MIN

describe.each(appKinds(inject('services')))('flash-sale promises [%s]', (kind) => {
  // Real-stack-only cases are not registered on memory at all (no skipped entries in the report).
  const onReal = (kind === 'real' ? it : () => {}) as typeof it
  let app: TestApp
  const f = seckillFaults(() => app.clock.now())
  const { admin, createSale, grab, state, reconcile, advance, cron, checkSale } = saleHelpers(
    () => app,
    ADMIN
  )
  /** The floods' 1,500 buyers, made once (through the ports: setup, not the feature under test). */
  let buyers: Promise<TestUser[]> | undefined
  const floodUsers = () => {
    buyers ??= makeUsers(app, 1500)
    return buyers
  }

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

  it('the queue refuses the timeout of a batch: reconciliation cancels the unpaid order past its deadline', async () => {
    const sale = await createSale({ stock: 3, endAt: new Date(app.clock.now() + 48 * HOUR) })
    const [u] = await makeUsers(app, 1)
    f.state.batchRefuses.add('orders.timeout')
    let orderId: string
    try {
      const res = await grab(sale.id, u!.token)
      expect(res.status).toBe(202)
      orderId = (await res.json()).orderId
      // The persist message was queued, its timeout refused: the order lands with no timeout (and
      // leaves the outbox, so the relay does not publish the batch again).
      for (let i = 0; i < 4; i++) await advance(HOUR)
    } finally {
      f.state.batchRefuses.clear()
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
    await checkSale(sale.id, 3)
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
    await checkSale(sale.id, 2)
  })

  it('an accepted order costs one publish request; its payment deadline runs from the 202', async () => {
    const sale = await createSale({ stock: 5, endAt: new Date(app.clock.now() + 48 * HOUR) })
    const users = await makeUsers(app, 3)
    await app.settle()
    const qstash = app.stack?.qstash
    const calls = f.state.publishCalls
    const requests = qstash?.stats().publishRequests ?? 0
    const acceptedAt = app.clock.now()
    const ids: string[] = []
    // The persist consumer fails each order's first attempt: it lands a backoff (12 s) later.
    f.state.failFirst = 1
    try {
      for (const u of users) ids.push((await (await grab(sale.id, u.token)).json()).orderId)
      await app.settle()
    } finally {
      f.state.failFirst = 0
    }
    await advance(MIN)
    const landed = (await state(sale.id)).orders
    expect(landed.map((o) => [o.status, o.createdAt])).toEqual(
      ids.map(() => ['unpaid', acceptedAt])
    )
    // One queue call per order (persist + timeout in one batch); at the stand-in, one request each.
    expect(f.state.publishCalls - calls).toBe(3)
    if (qstash) expect(qstash.stats().publishRequests - requests).toBe(3)
    // Paid in time: left alone. Unpaid: cancelled at acceptance + 15 min, not 15 min after it landed.
    const pay = await app.fetch(`/orders/${ids[0]}/pay`, { method: 'POST', token: users[0]!.token })
    expect(pay.status).toBe(200)
    await advance(15 * MIN - MIN - 1_000)
    expect((await state(sale.id)).orders.map((o) => o.status).sort()).toEqual([
      'paid',
      'unpaid',
      'unpaid',
    ])
    await advance(1_000)
    const view = await (await app.fetch(`/orders/${ids[1]}`, { token: users[1]!.token })).json()
    expect(view).toMatchObject({
      status: 'cancelled',
      createdAt: new Date(acceptedAt).toISOString(),
    })
    expect((await state(sale.id)).orders.map((o) => o.status).sort()).toEqual([
      'cancelled',
      'cancelled',
      'paid',
    ])
    for (const id of ids) expect(f.state.timeoutsHandled.get(id)).toBe(1)
    // Nothing else was published for these orders: no second request per order.
    expect(f.state.publishCalls - calls).toBe(3)
    if (qstash) expect(qstash.stats().publishRequests - requests).toBe(3)
    await checkSale(sale.id, 5)
  })

  it('the queue is down past the payment deadline: the relay’s batch persists the order and its timeout, due at once, cancels it once it landed', async () => {
    const sale = await createSale({ stock: 4, endAt: new Date(app.clock.now() + 48 * HOUR) })
    const [u] = await makeUsers(app, 1)
    f.state.publishDown = true
    let orderId: string
    try {
      const res = await grab(sale.id, u!.token)
      expect(res.status).toBe(202)
      orderId = (await res.json()).orderId
      await advance(20 * MIN) // the relay is not running: the outbox keeps it
    } finally {
      f.state.publishDown = false
    }
    expect((await state(sale.id)).ledger?.pending).toBe(1)
    // The first persist attempt fails: the timeout (delay 0) finds the order pending and retries.
    f.state.failOrders.add(orderId)
    const calls = f.state.publishCalls
    // Two relay ticks at once: the same batch twice, the queue drops the duplicates.
    const relayed = await Promise.all(
      [1, 2].map(() => app.fetch('/admin/seckill/relay', { method: 'POST', headers: admin }))
    )
    expect(relayed.map((r) => r.status)).toEqual([200, 200])
    expect(f.state.publishCalls - calls).toBe(2)
    await app.settle()
    expect(f.state.timeoutsHandled.get(orderId)).toBeUndefined()
    f.state.failOrders.clear()
    for (let i = 0; i < 4; i++) await advance(HOUR)
    const orders = await checkSale(sale.id, 4)
    expect(orders.map((o) => [o.id, o.status])).toEqual([[orderId, 'cancelled']])
    expect(f.state.attempts.get(orderId)).toBe(2)
    expect(f.state.timeoutsHandled.get(orderId)).toBe(1)
    expect((await state(sale.id)).ledger).toMatchObject({ stock: 4, cancelled: 1, pending: 0 })
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

  onReal(
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
    const orders = await checkSale(sale.id, 5)
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
    const orders = await checkSale(sale.id, 10)
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

  it('an order id that was not accepted leaves no order-to-sale record behind', async () => {
    const sale = await createSale({ stock: 1 })
    const [a, b, c] = await makeUsers(app, 3)
    const deps = await app.deps()
    // Ids are (seconds << 32 | per-day sequence) and the test clock stands still: the purchases'
    // ids are exactly the ones strictly between these two.
    const first = BigInt(await deps.ids.next('order'))
    const answers = []
    for (const user of [a!, b!, c!, a!]) answers.push(await grab(sale.id, user.token))
    const last = BigInt(await deps.ids.next('order'))
    await app.settle()
    expect(answers.map((r) => r.status)).toEqual([202, 409, 409, 409]) // won, sold out ×2, bought
    const won = ((await answers[0]!.json()) as { orderId: string }).orderId
    expect(last - first).toBe(5n)
    for (let id = first + 1n; id < last; id++) {
      expect(await deps.ledger.saleOf(String(id))).toBe(String(id) === won ? sale.id : null)
    }
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

  onReal(
    'flood under lost replies: 2,000 requests from 1,500 users on stock 100, 10 % of Redis replies dropped',
    async () => {
      const sale = await createSale({ stock: 100 })
      const flood = floodOf(sale.id, await floodUsers(), 1)
      const gateway = app.stack!.gateway
      gateway.faults.resetStats()
      const lossy = gateway.faults.add({ mode: 'drop-reply', fraction: 0.1, seed: 9 })
      let responses: Awaited<ReturnType<typeof runLoad>>
      try {
        responses = await runLoad(app.url, flood.requests, { concurrency: 100 })
      } finally {
        lossy.remove()
      }
      expect(gateway.faults.stats().dropReply).toBeGreaterThan(100)
      expect(new Set(responses.map((r) => r.status))).toSatisfy((codes: Set<number>) =>
        [...codes].every((c) => c === 202 || c === 409 || c === 503)
      )
      // The client retries what failed (503: every attempt lost), with the same key.
      const failed = responses.flatMap((r, i) => (r.status === 503 ? [i] : []))
      const retried = await runLoad(
        app.url,
        failed.map((i) => flood.requests[i]!),
        { concurrency: 20 }
      )
      for (const [j, i] of failed.entries()) responses[i] = retried[j]!
      // A key's replay answers the same order: distinct orders are counted.
      const accepted = acceptedOf(flood, responses)
      expect(accepted.size).toBe(100)

      await app.clock.advance(MIN) // the relay picks up anything whose publish was lost
      await app.fetch('/admin/seckill/relay', { method: 'POST', headers: admin })
      await app.settle()
      const orders = await checkSale(sale.id, 100, { accepted })
      expect(orders.every((o) => o.status === 'unpaid')).toBe(true)
    },
    240_000
  )

  it('flood while the queue refuses every payment timeout of a batch: past the deadline the cron cancels each unpaid order once', async () => {
    const sale = await createSale({ stock: 100, endAt: new Date(app.clock.now() + 48 * HOUR) })
    const flood = floodOf(sale.id, await floodUsers(), 2)
    // Each acceptance's batch is accepted but for its timeout (QStash answers per message).
    f.state.batchRefuses.add('orders.timeout')
    const refusedBefore = f.state.refusedOrders
    try {
      const accepted = acceptedOf(
        flood,
        await runLoad(app.url, flood.requests, { concurrency: 50 })
      )
      expect(accepted.size).toBe(100)
      // Each persist delivery commits; the order stays unpaid with no timeout anywhere.
      for (let i = 0; i < 4; i++) await advance(MIN)
      const persisted = (await state(sale.id)).orders
      expect(persisted.map((o) => o.status)).toEqual(persisted.map(() => 'unpaid'))
      expect(persisted).toHaveLength(100)
      expect(f.state.refusedOrders - refusedBefore).toBe(100)
      // Before the deadline 10 buyers pay and 5 cancel.
      const ids = [...accepted.keys()]
      const act = (id: string, what: 'pay' | 'cancel') => ({
        path: `/orders/${id}/${what}`,
        method: 'POST',
        token: accepted.get(id)!.token,
      })
      const acts = await runLoad(
        app.url,
        [
          ...ids.slice(0, 10).map((id) => act(id, 'pay')),
          ...ids.slice(10, 15).map((id) => act(id, 'cancel')),
        ],
        { concurrency: 15 }
      )
      expect(acts.map((r) => r.status)).toEqual(acts.map(() => 200))
      // Past ORDER_PAY_TIMEOUT (15 min) + grace (60 s) of every order: no timeout message fires.
      await advance(14 * MIN)
      const late = await state(sale.id)
      expect(late.orders.filter((o) => o.status === 'unpaid')).toHaveLength(85)
      expect(late.ledger).toMatchObject({ stock: 5, cancelled: 5 })
      await cron() // relay + reconciliation: the overdue orders are cancelled, stock back once
      const after = await state(sale.id)
      expect(after.orders.filter((o) => o.status === 'cancelled')).toHaveLength(90)
      await cron() // a second tick changes nothing
      const orders = await checkSale(sale.id, 100, { accepted })
      expect(
        orders
          .filter((o) => o.status === 'paid')
          .map((o) => o.id)
          .sort()
      ).toEqual(ids.slice(0, 10).sort())
      expect(orders.filter((o) => o.status === 'cancelled')).toHaveLength(90)
      expect((await state(sale.id)).ledger).toMatchObject({ stock: 90, cancelled: 90 })
      expect(orders.map((o) => o.cancelledAt)).toEqual(after.orders.map((o) => o.cancelledAt))
    } finally {
      f.state.batchRefuses.clear()
    }
  }, 180_000)

  it('Postgres unreachable for 10 s in the middle of a flood’s persistence: owners read pending or a clean 503, then every order lands once', async () => {
    const sale = await createSale({ stock: 100, endAt: new Date(app.clock.now() + 48 * HOUR) })
    const flood = floodOf(sale.id, await floodUsers(), 3)
    // Real: the Neon proxy refuses connections for 10 s on the test's clock and cuts open ones;
    // memory: every order-repository call fails like a refused connection for 10 s.
    const neon = app.stack?.neon
    neon?.faults.resetStats()
    let persisted = 0
    f.state.onPersisted = () => {
      if (++persisted !== 40) return
      if (neon) {
        neon.faults.refuse({ forMs: 10_000 })
        neon.faults.cutAll()
      } else f.state.databaseDownUntil = app.clock.now() + 10_000
    }
    const down = () => (neon ? neon.faults.refusing : app.clock.now() < f.state.databaseDownUntil)
    const readAll = async (accepted: Map<string, TestUser>) =>
      (
        await runLoad(
          app.url,
          [...accepted].map(([id, u]) => ({ path: `/orders/${id}`, token: u.token })),
          { concurrency: 20 }
        )
      ).map((r) => (r.status === 200 ? r.json().status : `${r.status} ${r.json().code}`))
    try {
      const accepted = acceptedOf(
        flood,
        await runLoad(app.url, flood.requests, { concurrency: 50 })
      )
      expect(accepted.size).toBe(100) // the hot path needs no Postgres
      await app.settle() // the deliveries after the 40th fail and wait for their retry (12 s)
      expect(persisted).toBeGreaterThanOrEqual(40)
      expect(down()).toBe(true)
      if (neon) expect(neon.faults.stats().refused).toBeGreaterThan(0)
      // Owners read their orders: pending ones from the Redis ledger, persisted ones a clean 503.
      for (const step of [0, 5_000]) {
        await advance(step)
        expect(down()).toBe(true)
        const answers = await readAll(accepted)
        const other = answers.filter((a) => a !== 'pending' && a !== '503 DEPENDENCY_UNAVAILABLE')
        expect(other).toEqual([])
        expect(answers).toContain('pending')
        expect(answers).toContain('503 DEPENDENCY_UNAVAILABLE')
      }
      // Paying needs Postgres: a clean 503 (or "still pending"), and nothing paid.
      const payers = [...accepted].slice(0, 10)
      const pay = () =>
        runLoad(
          app.url,
          payers.map(([id, u]) => ({ path: `/orders/${id}/pay`, method: 'POST', token: u.token })),
          { concurrency: 10 }
        )
      const refused = (await pay()).map((r) => `${r.status} ${r.json().code}`)
      expect(
        refused.filter((a) => a !== '503 DEPENDENCY_UNAVAILABLE' && a !== '409 ORDER_PENDING')
      ).toEqual([])
      await advance(MIN) // 10 s have passed: Postgres is back, the retries land
      expect(down()).toBe(false)
      await advance(3 * MIN) // anything that needed a second retry (2.5 min)
      expect((await pay()).map((r) => r.status === 200 && r.json().status)).toEqual(
        payers.map(() => 'paid')
      )
      const orders = await checkSale(sale.id, 100, { accepted })
      const paid = new Set(payers.map(([id]) => id))
      expect(orders.map((o) => o.status)).toEqual(
        orders.map((o) => (paid.has(o.id) ? 'paid' : 'unpaid'))
      )
    } finally {
      f.state.onPersisted = null
      f.state.databaseDownUntil = Number.NEGATIVE_INFINITY
      neon?.faults.clear()
    }
  }, 180_000)

  it('the process dies between reservation and publish for ~30 % of a flood’s orders: the cron recovers them', async () => {
    const sale = await createSale({ stock: 100, endAt: new Date(app.clock.now() + 48 * HOUR) })
    const flood = floodOf(sale.id, await floodUsers(), 4)
    f.state.crashBeforePublish = pickFraction(0.3, 4)
    let accepted: Map<string, TestUser>
    try {
      accepted = acceptedOf(flood, await runLoad(app.url, flood.requests, { concurrency: 50 }))
      await app.settle()
    } finally {
      f.state.crashBeforePublish = null
    }
    expect(accepted.size).toBe(100)
    const lost = [...accepted.keys()].filter((id) => f.state.crashed.has(id))
    expect(lost.length).toBeGreaterThan(0)
    const stuck = await state(sale.id)
    expect(stuck.orders).toHaveLength(100 - lost.length)
    expect(stuck.ledger).toMatchObject({ pending: lost.length, stock: 0 })
    // Their owners still read them, pending, from the ledger.
    const reads = await runLoad(
      app.url,
      lost.map((id) => ({ path: `/orders/${id}`, token: accepted.get(id)!.token })),
      { concurrency: 20 }
    )
    expect(reads.map((r) => r.status === 200 && r.json().status)).toEqual(lost.map(() => 'pending'))
    // One cron tick past SECKILL_RELAY_AFTER and RECONCILE_GRACE: the relay republishes the
    // outbox (reconciliation would too; the persist message's dedup id keeps it one).
    await advance(MIN)
    const tick = await cron()
    expect((tick['seckill-relay'] as { republished: number }).republished).toBeGreaterThanOrEqual(
      lost.length
    )
    const orders = await checkSale(sale.id, 100, { accepted })
    expect(orders.every((o) => o.status === 'unpaid')).toBe(true)
  }, 180_000)

  onReal(
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
        // Meanwhile the owner reads the order, pending, from the ledger; a read that needs
        // Postgres (here: someone else's) is a clean 503 to retry, not a 500.
        const mine = await app.fetch(`/orders/${ids[0]}`, { token: users[0]!.token })
        expect(mine.status).toBe(200)
        expect((await mine.json()).status).toBe('pending')
        const down = await app.fetch(`/orders/${ids[0]}`, { token: users[1]!.token })
        expect(down.status).toBe(503)
        expect(await down.json()).toMatchObject({
          code: 'DEPENDENCY_UNAVAILABLE',
          dependency: 'database',
        })
      } finally {
        neon.faults.resume()
      }
      await advance(3 * MIN) // QStash's backoff: 12 s, then 2.5 min
      const orders = await checkSale(sale.id, 30)
      expect(new Set(orders.map((o) => o.id))).toEqual(new Set(ids))
      expect(orders.every((o) => o.status === 'unpaid')).toBe(true)
      for (const [i, id] of ids.entries()) {
        const res = await app.fetch(`/orders/${id}`, { token: users[i]!.token })
        expect((await res.json()).status).toBe('unpaid')
      }
    }
  )

  onReal(
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
