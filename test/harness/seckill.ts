import { createHash } from 'node:crypto'
import { expect } from 'vitest'
import { appJobs, appTopics } from '../../src/app/modules.ts'
import type { Delivery, Queue, TopicHandlers } from '../../src/domain/ports/queue.ts'
import type { Order, OrderRepository } from '../../src/domain/ports/vouchers.ts'
import { seededRandom } from '../stack/faults.ts'
import type { TestApp } from './app.ts'
import { createSale } from './flows.ts'
import { type LoadRequest, type LoadResponse, runLoad } from './load.ts'
import type { TestUser } from './users.ts'

/**
 * Switchable faults around the app's real consumers and queue (every app kind). `now` is the app's
 * clock, for the timed database outage (`databaseDownUntil`).
 */
export function seckillFaults(now: () => number = Date.now) {
  const state = {
    /** Fail the first n persist attempts of every order. */
    failFirst: 0,
    /** Fail every persist attempt. */
    failAlways: false,
    /** Fail every persist attempt of these orders. */
    failOrders: new Set<string>(),
    /** Make publishing throw (the queue is unreachable). */
    publishDown: false,
    /** Make publishing to these topics throw (a batch holding one is refused as a whole). */
    publishFails: new Set<string>(),
    /**
     * A batch is accepted except for its items of these topics (QStash answers a batch message
     * by message): the others are queued, the publish rejects.
     */
    batchRefuses: new Set<string>(),
    /** The orders of each persist message handled successfully, in order. */
    persistGroups: [] as string[][],
    /** Orders whose messages `batchRefuses` left out of batches (a group's message counts each). */
    refusedOrders: 0,
    /** Queue calls the app made (publish and publishBatch: one request each). */
    publishCalls: 0,
    /** Payment-timeout deliveries handled without an error, by order id. */
    timeoutsHandled: new Map<string, number>(),
    /** Fail every delivery of the payment timeout (its dead-letter hand-off still runs). */
    timeoutFails: false,
    attempts: new Map<string, number>(),
    /** Runs right after a Postgres order read, before its result is returned (one-shot). */
    afterRead: null as null | ((orderId: string) => Promise<void>),
    /** Runs after every persist delivery that succeeded (e.g. to start an outage mid-flood). */
    onPersisted: null as null | ((orderId: string) => void),
    /**
     * Until this time on `now()`, every order-repository call fails like a database that cannot
     * be reached (ECONNREFUSED): the memory stand-in for the Neon proxy refusing connections.
     */
    databaseDownUntil: Number.NEGATIVE_INFINITY,
    /**
     * The process "dies" between an order's reservation and its persist publish: the first
     * persist publish of each order this picks resolves without reaching the queue (no error
     * for the app to handle — the continuation is simply gone). The relay's republish goes out.
     */
    crashBeforePublish: null as null | ((orderId: string) => boolean),
    /** Orders whose first persist publish was dropped by `crashBeforePublish`. */
    crashed: new Set<string>(),
  }
  const published = new Set<string>()
  const topics = (deps: Parameters<typeof appTopics>[0]): TopicHandlers => {
    const real = appTopics(deps)
    const persist = real['orders.persist']!
    const timeout = real['orders.timeout']!
    return {
      ...real,
      'orders.persist': {
        handle: async (d: Delivery<never>) => {
          // A message of one order or of a group (group commit): each order counts its attempts,
          // and a failure injected for any of them fails the message.
          const ids = persistIds(d.body)
          const attempts = ids.map((id) => {
            const n = (state.attempts.get(id) ?? 0) + 1
            state.attempts.set(id, n)
            return n
          })
          const n = Math.min(...attempts)
          if (
            state.failAlways ||
            ids.some((id) => state.failOrders.has(id)) ||
            attempts.some((a) => a <= state.failFirst)
          )
            throw new Error(`injected failure ${n}`)
          await persist.handle(d)
          state.persistGroups.push(ids)
          for (const id of ids) state.onPersisted?.(id)
        },
        deadLetter: (l) => persist.deadLetter(l),
      },
      'orders.timeout': {
        handle: async (d: Delivery<never>) => {
          if (state.timeoutFails) throw new Error('injected: timeout consumer fails')
          await timeout.handle(d)
          for (const id of ordersOf(d.body)) {
            state.timeoutsHandled.set(id, (state.timeoutsHandled.get(id) ?? 0) + 1)
          }
        },
        deadLetter: (l) => timeout.deadLetter(l),
      },
    }
  }
  const refused = (topics: readonly string[]) =>
    state.publishDown || topics.some((t) => state.publishFails.has(t))
  /**
   * true when this (first) persist publish "dies" with the process before reaching the queue: for
   * a group, when `crashBeforePublish` picks any of its orders (the whole group is lost with it).
   */
  const crashes = (topic: string, body: unknown) => {
    if (topic !== 'orders.persist') return false
    const fresh = persistIds(body).filter((id) => !published.has(id))
    if (fresh.length === 0) return false
    for (const id of fresh) published.add(id)
    const picked = fresh.map((id) => state.crashBeforePublish?.(id) ?? false)
    if (!picked.includes(true)) return false
    for (const id of fresh) state.crashed.add(id)
    return true
  }
  // Nothing follows the publish in the app, so "resolved without publishing" is the state a dead
  // process leaves (a never-settling promise would only hang settle()).
  const crashed = { messageId: 'crashed-before-publish', deduplicated: false }
  const queue = (q: Queue): Queue => ({
    publish: (topic, body, opts) => {
      state.publishCalls++
      if (refused([topic])) return Promise.reject(new Error('injected: queue unreachable'))
      if (crashes(topic, body)) return Promise.resolve(crashed)
      return q.publish(topic, body, opts)
    },
    publishBatch: async (items) => {
      state.publishCalls++
      if (refused(items.map((it) => it.topic))) {
        return Promise.reject(new Error('injected: queue unreachable'))
      }
      // One request: the process dies before all of it or none.
      if (items.map((it) => crashes(it.topic, it.body)).some(Boolean)) {
        return Promise.resolve(items.map(() => crashed))
      }
      const kept = items.filter((it) => !state.batchRefuses.has(it.topic))
      if (kept.length === items.length) return q.publishBatch(items)
      for (const it of items) {
        if (state.batchRefuses.has(it.topic)) state.refusedOrders += ordersOf(it.body).length
      }
      await q.publishBatch(kept)
      throw new Error('injected: the queue refused part of a batch')
    },
  })
  const unreachable = () => {
    if (now() < state.databaseDownUntil) {
      throw Object.assign(new Error('connect ECONNREFUSED (injected: database down)'), {
        code: 'ECONNREFUSED',
      })
    }
  }
  const findById = (repo: OrderRepository) => async (id: string) => {
    unreachable()
    const found = await repo.findById(id)
    const hook = state.afterRead
    if (hook) {
      state.afterRead = null
      await hook(id)
    }
    return found
  }
  const orders = (repo: OrderRepository): OrderRepository =>
    new Proxy(repo, {
      get: (target, prop) => {
        if (prop === 'findById') return findById(target)
        const value = Reflect.get(target, prop)
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          unreachable()
          return value.apply(target, args)
        }
      },
    })
  return { state, topics, decorate: { queue, orders } }
}

export const MIN = 60_000

/** The order ids of a persist message: one order's, or a group's (`{ orders }`). */
export function persistIds(body: unknown): string[] {
  const b = body as { orderId?: string; orders?: { orderId: string }[] } | null
  if (b?.orders) return b.orders.map((o) => o.orderId)
  return b?.orderId ? [b.orderId] : []
}

/** The order ids of a persist or timeout message (`{ orderIds }` for a group's timeout). */
export function ordersOf(body: unknown): string[] {
  return (body as { orderIds?: string[] } | null)?.orderIds ?? persistIds(body)
}

/**
 * A queue decorator that can hold publishes back, so no consumer touches Redis while a test
 * counts a request's round trips: `hold()`, measure, then `release()` sends what was held.
 */
export function publishHold() {
  let held: (() => Promise<unknown>)[] | null = null
  const queue = (q: Queue): Queue => ({
    publish: (topic, body, opts) => {
      if (!held) return q.publish(topic, body, opts)
      held.push(() => q.publish(topic, body, opts))
      return Promise.resolve({ messageId: 'held', deduplicated: false })
    },
    publishBatch: (items) => {
      if (!held) return q.publishBatch(items)
      held.push(() => q.publishBatch(items))
      return Promise.resolve(items.map(() => ({ messageId: 'held', deduplicated: false })))
    },
  })
  return {
    decorate: { queue },
    hold: () => {
      held = []
    },
    release: async () => {
      const release = held ?? []
      held = null
      await Promise.all(release.map((publish) => publish()))
    },
  }
}

/** A reproducible pick of about `fraction` of all ids (by hash, whatever the arrival order). */
export function pickFraction(fraction: number, seed = 1): (id: string) => boolean {
  return (id) =>
    createHash('sha256').update(`${seed}:${id}`).digest().readUInt32BE(0) / 2 ** 32 < fraction
}

/**
 * The flood: 2,000 purchases of one sale from the 1,500 `users` (the first 500 twice), in
 * a seeded order, each with its own Idempotency-Key (as a client that retries would send) unless
 * `idempotencyKeys` is false.
 */
export function floodOf(
  saleId: string,
  users: readonly TestUser[],
  seed = 1,
  opts: { idempotencyKeys?: boolean } = {}
) {
  const owners = [...users, ...users.slice(0, 500)]
  const random = seededRandom(seed)
  for (let i = owners.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[owners[i], owners[j]] = [owners[j]!, owners[i]!]
  }
  const path = `/vouchers/${saleId}/seckill`
  const keys = opts.idempotencyKeys ?? true
  const requests: LoadRequest[] = owners.map((u, i) => ({
    path,
    method: 'POST',
    token: u.token,
    headers: keys ? { 'idempotency-key': `flood-${seed}-${i}` } : ({} as Record<string, string>),
  }))
  return { owners, requests }
}

/**
 * The answers of a flood: nothing but 202 and 409 (SOLD_OUT / ALREADY_PURCHASED), and the accepted
 * orders with their owners (a replayed key answers the same order: counted once).
 */
export function acceptedOf(
  flood: { owners: readonly TestUser[] },
  responses: readonly LoadResponse[]
): Map<string, TestUser> {
  expect(
    responses.filter((r) => r.status !== 202 && r.status !== 409).map((r) => r.status)
  ).toEqual([])
  const refusals = new Set(responses.filter((r) => r.status === 409).map((r) => r.json().code))
  expect([...refusals].every((c) => c === 'SOLD_OUT' || c === 'ALREADY_PURCHASED')).toBe(true)
  const accepted = new Map<string, TestUser>()
  for (const [i, r] of responses.entries()) {
    if (r.status === 202) accepted.set(r.json().orderId, flood.owners[i]!)
  }
  return accepted
}

/** Flash-sale helpers over a started test app with admin token `admin`. */
export function saleHelpers(app: () => TestApp, adminToken: string) {
  const admin = { authorization: `Bearer ${adminToken}` }
  async function state(voucherId: string) {
    const deps = await app().deps()
    const [ledger, voucher, orders] = await Promise.all([
      deps.ledger.audit(voucherId, false),
      deps.vouchers.findById(voucherId),
      deps.orders.listByVoucher(voucherId),
    ])
    return { ledger, dbStock: voucher?.seckill?.stock, orders }
  }
  async function reconcile(voucherId?: string, dryRun = true) {
    const res = await app().fetch('/admin/seckill/reconcile', {
      method: 'POST',
      headers: admin,
      json: { ...(voucherId ? { voucherId } : {}), dryRun },
    })
    expect(res.status).toBe(200)
    return res.json()
  }
  return {
    admin,
    createSale: (over: Record<string, unknown> = {}) =>
      createSale(app().fetch, adminToken, app().clock.now(), over),
    grab: (voucherId: string, token: string, headers: Record<string, string> = {}) =>
      app().fetch(`/vouchers/${voucherId}/seckill`, { method: 'POST', token, headers }),
    state,
    reconcile,
    /** One cron tick of the flash sale's jobs (outbox relay and reconciliation, together). */
    async cron() {
      const deps = await app().deps()
      const jobs = appJobs.filter((j) => j.name.startsWith('seckill-'))
      const results = await Promise.all(jobs.map((j) => j.run(deps)))
      await app().settle()
      return Object.fromEntries(jobs.map((j, i) => [j.name, results[i]]))
    },
    /**
     * The flash sale's invariants, checked after every fault: nothing pending, Redis stock =
     * Postgres stock = initial − live orders (unpaid + paid), the ledger's counters right,
     * reconciliation clean, and no order unpaid past its deadline (ORDER_PAY_TIMEOUT + grace, the
     * promise). With `accepted` (the 202s and their owners): exactly those orders in Postgres,
     * nobody twice, and each one readable by its owner as unpaid, paid or cancelled — as stored.
     */
    async checkSale(
      voucherId: string,
      initial: number,
      opts: { accepted?: ReadonlyMap<string, TestUser> } = {}
    ): Promise<Order[]> {
      const { ledger, dbStock, orders } = await state(voucherId)
      const live = orders.filter((o) => o.status === 'unpaid' || o.status === 'paid').length
      expect(dbStock).toBe(initial - live)
      expect(ledger).toMatchObject({ stock: initial - live, expectedStock: initial - live })
      expect(ledger).toMatchObject({ pending: 0, buyersOff: 0 })
      // The whole report on failure: which order drifted, and how.
      expect(await reconcile(voucherId)).toMatchObject({ drift: false })
      const { payTimeoutMs, reconcileGraceMs } = (await app().deps()).config.seckill
      const deadline = app().clock.now() - payTimeoutMs - reconcileGraceMs
      expect(orders.filter((o) => o.status === 'unpaid' && o.createdAt <= deadline)).toEqual([])
      const accepted = opts.accepted
      if (accepted) {
        expect(new Set(orders.map((o) => o.id))).toEqual(new Set(accepted.keys()))
        expect(new Set(orders.map((o) => o.userId)).size).toBe(orders.length)
        expect(orders.filter((o) => accepted.get(o.id)?.id !== o.userId)).toEqual([])
        const reads = await runLoad(
          app().url,
          orders.map((o) => ({ path: `/orders/${o.id}`, token: accepted.get(o.id)!.token })),
          { concurrency: 20 }
        )
        const seen = reads.map((r) => (r.status === 200 ? r.json().status : r.status))
        expect(seen).toEqual(orders.map((o) => o.status))
        expect(seen.every((s) => s === 'unpaid' || s === 'paid' || s === 'cancelled')).toBe(true)
      }
      return orders
    },
    /** Moves both clocks (the app's and the QStash stand-in's) and lets due work finish. */
    async advance(ms: number) {
      await app().settle()
      await app().clock.advance(ms)
      await app().stack?.qstash.advance(ms)
      await app().settle()
    },
  }
}
