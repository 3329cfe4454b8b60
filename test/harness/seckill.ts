import { expect } from 'vitest'
import { appTopics } from '../../src/app/modules.ts'
import type { Delivery, Queue, TopicHandlers } from '../../src/domain/ports/queue.ts'
import type { OrderRepository } from '../../src/domain/ports/vouchers.ts'
import type { TestApp } from './app.ts'
import { createSale } from './flows.ts'

/** Switchable faults around the app's real consumers and queue (both app kinds). */
export function seckillFaults() {
  const state = {
    /** Fail the first n persist attempts of every order. */
    failFirst: 0,
    /** Fail every persist attempt. */
    failAlways: false,
    /** Fail every persist attempt of these orders. */
    failOrders: new Set<string>(),
    /** Make publishing throw (the queue is unreachable). */
    publishDown: false,
    /** Make publishing to these topics throw. */
    publishFails: new Set<string>(),
    /** Fail every delivery of the payment timeout (its dead-letter hand-off still runs). */
    timeoutFails: false,
    attempts: new Map<string, number>(),
    /** Runs right after a Postgres order read, before its result is returned (one-shot). */
    afterRead: null as null | ((orderId: string) => Promise<void>),
  }
  const topics = (deps: Parameters<typeof appTopics>[0]): TopicHandlers => {
    const real = appTopics(deps)
    const persist = real['orders.persist']!
    const timeout = real['orders.timeout']!
    return {
      ...real,
      'orders.persist': {
        handle: async (d: Delivery<never>) => {
          const id = (d.body as { orderId: string }).orderId
          const n = (state.attempts.get(id) ?? 0) + 1
          state.attempts.set(id, n)
          if (state.failAlways || state.failOrders.has(id) || n <= state.failFirst)
            throw new Error(`injected failure ${n}`)
          return persist.handle(d)
        },
        deadLetter: (l) => persist.deadLetter(l),
      },
      'orders.timeout': {
        handle: async (d: Delivery<never>) => {
          if (state.timeoutFails) throw new Error('injected: timeout consumer fails')
          return timeout.handle(d)
        },
        deadLetter: (l) => timeout.deadLetter(l),
      },
    }
  }
  const queue = (q: Queue): Queue => ({
    publish: (topic, body, opts) => {
      if (state.publishDown || state.publishFails.has(topic)) {
        return Promise.reject(new Error('injected: queue unreachable'))
      }
      return q.publish(topic, body, opts)
    },
  })
  const findById = (repo: OrderRepository) => async (id: string) => {
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
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
  return { state, topics, decorate: { queue, orders } }
}

export const MIN = 60_000

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

/** Flash-sale helpers over a started test app with admin token `admin`. */
export function saleHelpers(app: () => TestApp, adminToken: string) {
  const admin = { authorization: `Bearer ${adminToken}` }
  return {
    admin,
    createSale: (over: Record<string, unknown> = {}) =>
      createSale(app().fetch, adminToken, app().clock.now(), over),
    grab: (voucherId: string, token: string, headers: Record<string, string> = {}) =>
      app().fetch(`/vouchers/${voucherId}/seckill`, { method: 'POST', token, headers }),
    async state(voucherId: string) {
      const deps = await app().deps()
      const [ledger, voucher, orders] = await Promise.all([
        deps.ledger.audit(voucherId, false),
        deps.vouchers.findById(voucherId),
        deps.orders.listByVoucher(voucherId),
      ])
      return { ledger, dbStock: voucher?.seckill?.stock, orders }
    },
    async reconcile(voucherId?: string, dryRun = true) {
      const res = await app().fetch('/admin/seckill/reconcile', {
        method: 'POST',
        headers: admin,
        json: { ...(voucherId ? { voucherId } : {}), dryRun },
      })
      expect(res.status).toBe(200)
      return res.json()
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
