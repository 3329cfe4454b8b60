import { describe, expect, it } from 'vitest'
import type { OrderRepository, VoucherRepository } from '../../src/domain/ports/vouchers.ts'

export interface OrderRepoHarness {
  vouchers: VoucherRepository
  orders: OrderRepository
  /** A shop the vouchers can belong to, and users who can own orders. */
  shopId: string
  userIds: string[]
  /** SQL statements `orders` has sent so far, where the harness can count them. */
  statements: () => number
}

const H = 3_600_000
let nextId = 1n
const orderId = () => String(8_000_000_000_000_000_000n + BigInt(Date.now()) * 1000n + nextId++)

/** The VoucherRepository + OrderRepository contract (they share the sale's stock row). */
export function orderRepositoryContract(name: string, make: () => Promise<OrderRepoHarness>) {
  describe(`Voucher and order repositories contract [${name}]`, () => {
    async function sale(h: OrderRepoHarness, stock = 3, perUserLimit = 1) {
      const now = Date.now()
      return h.vouchers.create({
        shopId: h.shopId,
        title: 'half price',
        subTitle: '',
        rules: '',
        payValue: 500,
        actualValue: 1000,
        seckill: { stock, beginAt: now - H, endAt: now + H, perUserLimit },
      })
    }

    it('creates vouchers with their sale terms and lists them', async () => {
      const h = await make()
      const normal = await h.vouchers.create({
        shopId: h.shopId,
        title: 'normal',
        subTitle: 's',
        rules: 'r',
        payValue: 1,
        actualValue: 2,
      })
      expect(normal).toMatchObject({ kind: 'normal', status: 'on', seckill: null })
      const flash = await sale(h, 7, 2)
      expect(flash.kind).toBe('seckill')
      expect(flash.seckill).toMatchObject({ stock: 7, initialStock: 7, perUserLimit: 2 })
      expect(await h.vouchers.findById(flash.id)).toEqual(flash)
      expect(await h.vouchers.findById('0')).toBeNull()
      const listed = await h.vouchers.listByShop(h.shopId)
      expect(listed.map((v) => v.id)).toEqual(expect.arrayContaining([normal.id, flash.id]))
      const live = await h.vouchers.listSeckillEndingAfter(Date.now())
      expect(live.map((v) => v.id)).toContain(flash.id)
      expect(live.map((v) => v.id)).not.toContain(normal.id)
      expect(
        (await h.vouchers.listSeckillEndingAfter(Date.now() + 2 * H)).map((v) => v.id)
      ).not.toContain(flash.id)
    })

    it('lists unpaid orders older than a time, oldest first, per voucher or all', async () => {
      const h = await make()
      const [a, b] = [await sale(h, 5), await sale(h, 5)]
      const t = Date.now() - 10 * H
      const mk = (voucherId: string, userId: string, at: number) =>
        h.orders.persist({ id: orderId(), userId, voucherId, seq: 1 }, at)
      await mk(a.id, h.userIds[0]!, t + 2)
      await mk(a.id, h.userIds[1]!, t + 1)
      await mk(b.id, h.userIds[0]!, t + 3)
      await mk(a.id, h.userIds[2]!, t + 100) // too young
      const [first] = await h.orders.listByVoucher(a.id)
      await h.orders.pay(first!.id, first!.userId, t + 5) // paid: not listed
      const all = await h.orders.listUnpaidBefore(t + 50, 100)
      const mine = all.filter((o) => o.voucherId === a.id || o.voucherId === b.id)
      expect(mine.map((o) => [o.voucherId, o.createdAt])).toEqual([
        [a.id, t + 2],
        [b.id, t + 3],
      ])
      expect(mine.every((o) => o.status === 'unpaid')).toBe(true)
      expect((await h.orders.listUnpaidBefore(t + 50, 100, b.id)).map((o) => o.createdAt)).toEqual([
        t + 3,
      ])
      expect(await h.orders.listUnpaidBefore(t + 50, 100, 'x')).toEqual([])
    })

    const stockOf = async (h: OrderRepoHarness, voucherId: string) =>
      (await h.vouchers.findById(voucherId))?.seckill?.stock
    const count = (results: { result: string }[], result: string) =>
      results.filter((r) => r.result === result).length

    it('persists an order once, taking one unit of stock, under concurrent redelivery', async () => {
      const h = await make()
      const v = await sale(h, 3)
      const o = { id: orderId(), userId: h.userIds[0]!, voucherId: v.id, seq: 1 }
      const results = await Promise.all(
        Array.from({ length: 20 }, () => h.orders.persist(o, Date.now()))
      )
      expect(count(results, 'created')).toBe(1)
      expect(count(results, 'exists')).toBe(19)
      const stored = await h.orders.findById(o.id)
      expect(stored).toMatchObject({ ...o, status: 'unpaid' })
      for (const r of results) expect(r).toEqual({ result: r.result, order: stored })
      expect(await stockOf(h, v.id)).toBe(2)
    })

    it('sells exactly the stock to a race of distinct orders, and nothing more', async () => {
      const h = await make()
      const v = await sale(h, 10)
      const orders = Array.from({ length: 50 }, (_, i) => ({
        id: orderId(),
        userId: h.userIds[i % h.userIds.length]!,
        voucherId: v.id,
        seq: 1 + Math.floor(i / h.userIds.length),
      }))
      const results = await Promise.all(orders.map((o) => h.orders.persist(o, 1)))
      expect(count(results, 'created')).toBe(10)
      expect(count(results, 'sold-out')).toBe(40)
      expect(await stockOf(h, v.id)).toBe(0)
      const stored = await h.orders.listByVoucher(v.id)
      const created = orders.filter((_, i) => results[i]!.result === 'created')
      expect(stored.map((o) => o.id).sort()).toEqual(created.map((o) => o.id).sort())
      expect(await h.orders.auditStock(v.id, false)).toEqual({ stock: 0, expected: 0 })
    })

    it('gives a live slot to one of several ids racing for it', async () => {
      const h = await make()
      const v = await sale(h, 5)
      const ids = Array.from({ length: 10 }, () => orderId())
      const results = await Promise.all(
        ids.map((id) => h.orders.persist({ id, userId: h.userIds[0]!, voucherId: v.id, seq: 1 }, 1))
      )
      expect(count(results, 'created')).toBe(1)
      expect(count(results, 'duplicate')).toBe(9)
      expect(await h.orders.listByVoucher(v.id)).toHaveLength(1)
      expect((await h.orders.findByIds(ids)).map((o) => o.id)).toEqual([
        ids[results.findIndex((r) => r.result === 'created')],
      ])
      expect(await stockOf(h, v.id)).toBe(4)
    })

    it('races redeliveries, rival ids for one slot and other buyers for the last units', async () => {
      const h = await make()
      const v = await sale(h, 2)
      const [u0, ...others] = h.userIds
      const x = { id: orderId(), userId: u0!, voucherId: v.id, seq: 1 }
      const rivals = Array.from({ length: 5 }, () => ({ ...x, id: orderId() }))
      const buyers = Array.from({ length: 10 }, (_, i) => ({
        id: orderId(),
        userId: others[i % others.length]!,
        voucherId: v.id,
        seq: 1 + Math.floor(i / others.length),
      }))
      const attempts = [...Array.from({ length: 5 }, () => x), ...rivals, ...buyers]
      const results = await Promise.all(attempts.map((o) => h.orders.persist(o, 1)))
      const stored = await h.orders.listByVoucher(v.id)
      expect(stored).toHaveLength(2)
      expect(stored.filter((o) => o.userId === u0).length).toBeLessThanOrEqual(1)
      expect(count(results, 'created')).toBe(2)
      expect(await stockOf(h, v.id)).toBe(0)
      const storedIds = new Set(stored.map((o) => o.id))
      attempts.forEach((o, i) => {
        const r = results[i]!
        if (storedIds.has(o.id)) expect(['created', 'exists']).toContain(r.result)
        else expect(['sold-out', 'duplicate']).toContain(r.result)
        if (r.result === 'exists') expect(o.id).toBe(x.id)
      })
      // Redeliveries of x agree: all sold out / beaten to the slot, or one created and the rest exist.
      const xs = results.slice(0, 5).map((r) => r.result)
      if (storedIds.has(x.id)) expect(xs.sort()).toEqual(['created', ...Array(4).fill('exists')])
      else expect(xs.every((r) => r === 'sold-out' || r === 'duplicate')).toBe(true)
    })

    it('sold out: inserts nothing and takes nothing; exists and duplicate still come first', async () => {
      const h = await make()
      const v = await sale(h, 1)
      const [u1, u2] = h.userIds
      const a = { id: orderId(), userId: u1!, voucherId: v.id, seq: 1 }
      const b = { id: orderId(), userId: u2!, voucherId: v.id, seq: 1 }
      expect((await h.orders.persist(a, 1)).result).toBe('created')
      expect(await h.orders.persist(b, 1)).toEqual({ result: 'sold-out' })
      expect(await h.orders.persist(b, 1)).toEqual({ result: 'sold-out' })
      expect(await h.orders.findById(b.id)).toBeNull()
      expect(await stockOf(h, v.id)).toBe(0)
      // As before: the order's own id, then its slot, are looked at before the stock.
      expect((await h.orders.persist(a, 1)).result).toBe('exists')
      expect(await h.orders.persist({ ...a, id: orderId() }, 1)).toEqual({ result: 'duplicate' })
      expect(await h.orders.listByVoucher(v.id)).toHaveLength(1)
      expect(await stockOf(h, v.id)).toBe(0)
      // A unit given back: the id refused earlier left nothing behind and is created now.
      await h.orders.cancel(a.id, u1!, 2)
      expect(await h.orders.persist(b, 3)).toMatchObject({
        result: 'created',
        order: { ...b, status: 'unpaid', createdAt: 3 },
      })
      expect(await stockOf(h, v.id)).toBe(0)
      // A voucher without a sale has no stock to take.
      const normal = await h.vouchers.create({
        shopId: h.shopId,
        title: 'normal',
        subTitle: '',
        rules: '',
        payValue: 1,
        actualValue: 2,
      })
      const c = { id: orderId(), userId: u1!, voucherId: normal.id, seq: 1 }
      expect(await h.orders.persist(c, 1)).toEqual({ result: 'sold-out' })
      expect(await h.orders.findById(c.id)).toBeNull()
    })

    it('persists in one statement, whatever the outcome', async () => {
      const h = await make()
      if (!h.statements) throw new Error('the harness must count statements')
      const v = await sale(h, 1)
      const [u1, u2] = h.userIds
      const a = { id: orderId(), userId: u1!, voucherId: v.id, seq: 1 }
      const outcomes = []
      for (const o of [a, a, { ...a, id: orderId() }, { ...a, id: orderId(), userId: u2! }]) {
        const before = h.statements()
        outcomes.push((await h.orders.persist(o, 1)).result)
        expect(h.statements() - before).toBe(1)
      }
      expect(outcomes).toEqual(['created', 'exists', 'duplicate', 'sold-out'])
    })

    it('persists a group in one statement, each order with its own outcome, in input order', async () => {
      const h = await make()
      const v = await sale(h, 2)
      const w = await sale(h, 5)
      const [u1, u2, u3, u4] = h.userIds
      const held = { id: orderId(), userId: u1!, voucherId: v.id, seq: 1 }
      expect((await h.orders.persist(held, 1)).result).toBe('created')
      const group = [
        { id: orderId(), userId: u2!, voucherId: w.id, seq: 1, createdAt: 7_000 },
        { ...held, createdAt: 2 }, // a redelivery: exists, unchanged
        { id: orderId(), userId: u1!, voucherId: v.id, seq: 1, createdAt: 3 }, // u1's slot: taken
        { id: orderId(), userId: u2!, voucherId: v.id, seq: 1, createdAt: 4_000 }, // the last unit
        { id: orderId(), userId: u3!, voucherId: v.id, seq: 1, createdAt: 5 }, // none left
        { id: orderId(), userId: u4!, voucherId: w.id, seq: 1, createdAt: 6_123 },
      ]
      const before = h.statements()
      const results = await h.orders.persistMany(group)
      expect(h.statements() - before).toBe(1)
      expect(results.map((r) => r.result)).toEqual([
        'created',
        'exists',
        'duplicate',
        'created',
        'sold-out',
        'created',
      ])
      for (const i of [0, 3, 5]) {
        const { createdAt, ...o } = group[i]!
        expect(results[i]).toEqual({
          result: 'created',
          order: expect.objectContaining({ ...o, status: 'unpaid', createdAt }),
        })
      }
      expect(results[1]).toMatchObject({ result: 'exists', order: { id: held.id, createdAt: 1 } })
      expect((await h.vouchers.findById(v.id))?.seckill?.stock).toBe(0)
      expect((await h.vouchers.findById(w.id))?.seckill?.stock).toBe(3)
      expect(await h.orders.findById(group[4]!.id)).toBeNull()
      expect(await h.orders.persistMany([])).toEqual([])
    })

    it('persists a group all or nothing: an error in one order stores none of them', async () => {
      const h = await make()
      const v = await sale(h, 5)
      const [u1, u2] = h.userIds
      const good = { id: orderId(), userId: u1!, voucherId: v.id, seq: 1, createdAt: 1 }
      // seq beyond the int4 column: the database refuses the whole statement.
      const bad = { id: orderId(), userId: u2!, voucherId: v.id, seq: 2 ** 31, createdAt: 1 }
      await expect(h.orders.persistMany([good, bad])).rejects.toThrow()
      expect(await h.orders.findByIds([good.id, bad.id])).toEqual([])
      expect((await h.vouchers.findById(v.id))?.seckill?.stock).toBe(5)
    })

    it('overlapping groups in any order never deadlock, double an order or oversell', async () => {
      const h = await make()
      const [v, w] = [await sale(h, 12), await sale(h, 12)]
      // 24 orders over two sales (stock 12 each), each in 6 groups of random order and makeup:
      // redeliveries and relay republishes racing each other.
      const orders = Array.from({ length: 24 }, (_, i) => ({
        id: orderId(),
        userId: h.userIds[i % h.userIds.length]!,
        voucherId: i % 2 ? v.id : w.id,
        seq: 1 + Math.floor(i / h.userIds.length),
        createdAt: i,
      }))
      const shuffled = () => [...orders].sort(() => Math.random() - 0.5)
      const groups = Array.from({ length: 6 }, () =>
        shuffled().slice(0, 8 + Math.floor(Math.random() * 17))
      )
      groups.push(shuffled())
      const results = await Promise.all(groups.map((g) => h.orders.persistMany(g)))
      const created = new Map<string, number>()
      for (const [g, group] of groups.entries()) {
        for (const [i, r] of results[g]!.entries()) {
          expect(['created', 'exists']).toContain(r.result)
          if (r.result === 'created') {
            created.set(group[i]!.id, (created.get(group[i]!.id) ?? 0) + 1)
          }
        }
      }
      expect([...created.values()].every((n) => n === 1)).toBe(true)
      expect(created.size).toBe(24)
      expect((await h.vouchers.findById(v.id))?.seckill?.stock).toBe(0)
      expect((await h.vouchers.findById(w.id))?.seckill?.stock).toBe(0)
      expect(await h.orders.auditStock(v.id, false)).toEqual({ stock: 0, expected: 0 })
    })

    it('refuses a second live order in the same user slot, and sells no more than the stock', async () => {
      const h = await make()
      const v = await sale(h, 1)
      const [u1, u2] = h.userIds
      expect(
        (await h.orders.persist({ id: orderId(), userId: u1!, voucherId: v.id, seq: 1 }, 0)).result
      ).toBe('created')
      expect(
        (await h.orders.persist({ id: orderId(), userId: u1!, voucherId: v.id, seq: 1 }, 0)).result
      ).toBe('duplicate')
      expect(
        (await h.orders.persist({ id: orderId(), userId: u2!, voucherId: v.id, seq: 1 }, 0)).result
      ).toBe('sold-out')
      expect(await h.orders.listByVoucher(v.id)).toHaveLength(1)
      expect((await h.vouchers.findById(v.id))?.seckill?.stock).toBe(0)
    })

    it('records a failed order, which holds no slot and is never overwritten', async () => {
      const h = await make()
      const v = await sale(h, 2)
      const u = h.userIds[0]!
      const failed = await h.orders.markFailed(
        { id: orderId(), userId: u, voucherId: v.id, seq: 1 },
        'boom',
        0
      )
      expect(failed).toMatchObject({ status: 'failed', failReason: 'boom' })
      const live = { id: orderId(), userId: u, voucherId: v.id, seq: 1 }
      expect((await h.orders.persist(live, 0)).result).toBe('created')
      expect((await h.orders.markFailed(live, 'late', 0)).status).toBe('unpaid')
      expect((await h.orders.persist({ ...failed }, 0)).result).toBe('exists')
      expect((await h.vouchers.findById(v.id))?.seckill?.stock).toBe(1)
    })

    it('pay and cancel are compare-and-set: exactly one wins a race, stock back at most once', async () => {
      const h = await make()
      const v = await sale(h, 5)
      const ids = await Promise.all(
        h.userIds.slice(0, 3).map(async (userId) => {
          const id = orderId()
          await h.orders.persist({ id, userId, voucherId: v.id, seq: 1 }, 0)
          return { id, userId }
        })
      )
      await Promise.all(
        ids.flatMap(({ id, userId }) => [
          ...Array.from({ length: 5 }, () => h.orders.pay(id, userId, 1)),
          ...Array.from({ length: 5 }, () => h.orders.cancel(id, null, 1)),
        ])
      )
      const orders = await Promise.all(ids.map(({ id }) => h.orders.findById(id)))
      const cancelled = orders.filter((o) => o?.status === 'cancelled').length
      expect(orders.every((o) => o?.status === 'paid' || o?.status === 'cancelled')).toBe(true)
      expect((await h.vouchers.findById(v.id))?.seckill?.stock).toBe(2 + cancelled)
      const paid = orders.find((o) => o?.status === 'paid')
      if (paid)
        expect(await h.orders.cancel(paid.id, paid.userId, 2)).toMatchObject({ changed: false })
      expect(await h.orders.pay(ids[0]!.id, h.userIds[5]!, 2)).toEqual({
        changed: false,
        order: null,
      })
    })

    it('audits the database stock against live orders and repairs it', async () => {
      const h = await make()
      const v = await sale(h, 4)
      await h.orders.persist({ id: orderId(), userId: h.userIds[0]!, voucherId: v.id, seq: 1 }, 0)
      expect(await h.orders.auditStock(v.id, false)).toEqual({ stock: 3, expected: 3 })
      const third = { id: orderId(), userId: h.userIds[1]!, voucherId: v.id, seq: 1 }
      await h.orders.markFailed(third, 'x', 0)
      expect(await h.orders.auditStock(v.id, true)).toEqual({ stock: 3, expected: 3 })
      expect(await h.orders.auditStock('999999999', false)).toBeNull()
    })
  })
}
