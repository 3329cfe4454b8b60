import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/adapters/memory/clock.ts'
import type { Reservation, SaleTerms, StockLedger } from '../../src/domain/ports/stock.ts'

export type MakeLedger = (clock: ManualClock) => Promise<StockLedger>

const MIN = 60_000
let next = 1
const id = () => String(7_000_000_000_000_000_000n + BigInt(Date.now()) * 1000n + BigInt(next++))
const voucher = () => String(100_000 + Math.floor(Math.random() * 1e9))

function terms(clock: ManualClock, over: Partial<SaleTerms> = {}): SaleTerms {
  return {
    voucherId: voucher(),
    stock: 10,
    initialStock: 10,
    beginAt: clock.now() - MIN,
    endAt: clock.now() + 60 * MIN,
    perUserLimit: 1,
    ...over,
  }
}

/** The StockLedger port's contract; every adapter runs it. */
export function stockLedgerContract(name: string, make: MakeLedger) {
  describe(`StockLedger contract [${name}]`, () => {
    it('says not-loaded until the sale is loaded; load never overwrites', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock)
      const r = await ledger.reserve({ voucherId: t.voucherId, userId: '1', orderId: id() })
      expect(r).toEqual({ kind: 'not-loaded' })
      expect(await ledger.load(t, [])).toBe(true)
      expect(await ledger.load({ ...t, stock: 999 }, [])).toBe(false)
      expect((await ledger.audit(t.voucherId, false))?.stock).toBe(10)
    })

    it('admits a buyer once (the per-user limit), keeping order ids exact', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock)
      await ledger.load(t, [])
      const orderId = '9007199254740993123' // > 2^53: must survive as a string
      const first = await ledger.reserve({ voucherId: t.voucherId, userId: '42', orderId })
      expect(first).toEqual({ kind: 'accepted', orderId, seq: 1 })
      const again = await ledger.reserve({ voucherId: t.voucherId, userId: '42', orderId: id() })
      expect(again).toEqual({ kind: 'refused', reason: 'ALREADY_PURCHASED' })
      expect(await ledger.find(t.voucherId, orderId)).toEqual({
        voucherId: t.voucherId,
        orderId,
        userId: '42',
        seq: 1,
        acceptedAt: clock.now(),
        state: 'pending',
      })
    })

    it('recognises its own order id when re-executed: the first outcome, stock taken once', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock, { perUserLimit: 2 })
      await ledger.load(t, [])
      const orderId = id()
      const call = { voucherId: t.voucherId, userId: '8', orderId }
      const first = await ledger.reserve(call)
      await clock.advance(1_000)
      expect(await ledger.reserve(call)).toEqual(first)
      expect(await ledger.reserve({ ...call, idempotencyKey: 'k' })).toEqual(first)
      expect(await ledger.audit(t.voucherId, false)).toMatchObject({
        stock: 9,
        expectedStock: 9,
        pending: 1,
        buyersOff: 0,
      })
    })

    it('knows the sale of an accepted or replayed order id once reserve resolves; a refused one as saleIndex tells', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock, { stock: 1, initialStock: 1 })
      await ledger.load(t, [])
      const [won, replay, lost, early] = [id(), id(), id(), id()]
      const call = { voucherId: t.voucherId, userId: '1', idempotencyKey: 'k' }
      expect(await ledger.reserve({ ...call, orderId: won })).toMatchObject({ kind: 'accepted' })
      expect(await ledger.saleOf(won)).toBe(t.voucherId)
      expect(await ledger.reserve({ ...call, orderId: replay })).toEqual({
        kind: 'replayed',
        orderId: won,
      })
      if (ledger.saleIndex === 'accepted') {
        // A record lost (a crash between the script and its write): a replay writes it again.
        await ledger.forget(won)
        expect(await ledger.reserve({ ...call, orderId: replay })).toMatchObject({
          kind: 'replayed',
        })
        expect(await ledger.saleOf(won)).toBe(t.voucherId)
      }
      const soldOut = { voucherId: t.voucherId, userId: '2', orderId: lost }
      expect(await ledger.reserve(soldOut)).toEqual({ kind: 'refused', reason: 'SOLD_OUT' })
      const notLoaded = { voucherId: voucher(), userId: '2', orderId: early }
      expect(await ledger.reserve(notLoaded)).toEqual({ kind: 'not-loaded' })
      if (ledger.saleIndex === 'accepted') {
        // No record for what was not accepted, without any forget call.
        expect(await ledger.saleOf(lost)).toBeNull()
        expect(await ledger.saleOf(early)).toBeNull()
        expect(await ledger.saleOf(replay)).toBeNull()
      } else {
        expect(ledger.saleIndex).toBe('every-call')
        expect(await ledger.saleOf(lost)).toBe(t.voucherId)
        expect(await ledger.saleOf(early)).toBe(notLoaded.voucherId)
      }
      for (const orderId of [lost, lost, early, replay]) await ledger.forget(orderId)
      expect(await ledger.saleOf(lost)).toBeNull()
      expect(await ledger.saleOf(early)).toBeNull()
      expect(await ledger.saleOf(id())).toBeNull()
      expect(await ledger.saleOf(won)).toBe(t.voucherId)
    })

    it('leaves no record for a throttled call with saleIndex accepted', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock)
      await ledger.load(t, [])
      const bucket = { tokens: 1, intervalMs: MIN }
      const [first, second] = [id(), id()]
      await ledger.reserve({ voucherId: t.voucherId, userId: '1', orderId: first, bucket })
      const r = await ledger.reserve({
        voucherId: t.voucherId,
        userId: '2',
        orderId: second,
        bucket,
      })
      expect(r).toMatchObject({ kind: 'throttled' })
      expect(await ledger.saleOf(first)).toBe(t.voucherId)
      expect(await ledger.saleOf(second)).toBe(ledger.saleIndex === 'accepted' ? null : t.voucherId)
    })

    it('remember restores missing saleOf records and keeps existing ones', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock)
      await ledger.load(t, [])
      const [a, b] = [id(), id()]
      await ledger.reserve({ voucherId: t.voucherId, userId: '1', orderId: a })
      await ledger.forget(a) // lost between the script and the record
      expect(await ledger.saleOf(a)).toBeNull()
      await ledger.remember(t.voucherId, [a, b])
      await ledger.remember(t.voucherId, [])
      expect(await ledger.saleOf(a)).toBe(t.voucherId)
      expect(await ledger.saleOf(b)).toBe(t.voucherId)
      await ledger.remember(voucher(), [a])
      expect(await ledger.saleOf(a)).toBe(t.voucherId)
    })

    it('keeps per-state counters in O(1), reads records in batches, scans in steps', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock, { stock: 5, initialStock: 6 })
      const old = { voucherId: t.voucherId, orderId: id(), userId: '1', seq: 1, acceptedAt: 1 }
      await ledger.load(t, [{ ...old, state: 'committed' }])
      const ids = [id(), id(), id()]
      for (const [i, orderId] of ids.entries())
        await ledger.reserve({ voucherId: t.voucherId, userId: String(10 + i), orderId })
      await ledger.transition(t.voucherId, ids[0]!, 'committed', ['pending'])
      await ledger.transition(t.voucherId, ids[1]!, 'failed', ['pending'])
      expect(await ledger.counters(t.voucherId)).toEqual({
        stock: 3,
        initialStock: 6,
        pending: 1,
        committed: 2,
        cancelled: 0,
        failed: 1,
        cursor: '',
        counted: true,
      })
      const recs = await ledger.records(t.voucherId, [
        ids[2]!,
        'nope'.length.toString(),
        old.orderId,
      ])
      expect(recs.map((r) => r?.state ?? null)).toEqual(['pending', null, 'committed'])
      const seen = new Set<string>()
      let cursor = '0'
      let steps = 0
      do {
        const step = await ledger.scan(t.voucherId, cursor, 2)
        for (const r of step.reservations) seen.add(r.orderId)
        cursor = step.next
        steps += 1
      } while (cursor !== '0' && steps < 100)
      expect(seen).toEqual(new Set([old.orderId, ...ids]))
      await ledger.setCursor(t.voucherId, 'x|y')
      expect((await ledger.counters(t.voucherId))?.cursor).toBe('x|y')
      // fixStock sets stock from the counters (here: already consistent)
      await ledger.transition(t.voucherId, ids[2]!, 'failed', 'any')
      await ledger.fixStock(t.voucherId)
      expect((await ledger.counters(t.voucherId))?.stock).toBe(4)
      expect(await ledger.counters(voucher())).toBeNull()
    })

    it('meters acceptances with the sale bucket; retries, replays and refusals take no token', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock, { stock: 10, initialStock: 10 })
      await ledger.load(t, [])
      const bucket = { tokens: 2, intervalMs: 1_000 }
      const buy = (userId: string, orderId = id(), idempotencyKey?: string) =>
        ledger.reserve({
          voucherId: t.voucherId,
          userId,
          orderId,
          bucket,
          ...(idempotencyKey ? { idempotencyKey } : {}),
        })
      const a = id()
      expect(await buy('1', a, 'ka')).toEqual({ kind: 'accepted', orderId: a, seq: 1 })
      expect((await buy('2')).kind).toBe('accepted')
      const c = id()
      expect(await buy('3', c)).toEqual({ kind: 'throttled', retryAfterMs: 1_000 })
      // The bucket is empty, yet answers that take nothing still come: a retry of an accepted
      // order id, an idempotent replay, and the per-user refusal (no token spent on any).
      expect(await buy('1', a)).toEqual({ kind: 'accepted', orderId: a, seq: 1 })
      expect(await buy('1', id(), 'ka')).toEqual({ kind: 'replayed', orderId: a })
      expect(await buy('1')).toEqual({ kind: 'refused', reason: 'ALREADY_PURCHASED' })
      // A throttled call changed nothing: no stock taken, no record, no quota.
      expect(await ledger.find(t.voucherId, c)).toBeNull()
      expect(await ledger.audit(t.voucherId, false)).toMatchObject({
        stock: 8,
        expectedStock: 8,
        pending: 2,
        buyersOff: 0,
      })
      await clock.advance(999)
      expect(await buy('3')).toEqual({ kind: 'throttled', retryAfterMs: 1 })
      await clock.advance(1)
      expect((await buy('3', c)).kind).toBe('accepted') // refilled: 2 tokens, 1 left
      for (let i = 0; i < 5; i++) expect((await buy('2')).kind).toBe('refused')
      expect((await buy('4')).kind).toBe('accepted') // the refusals took none
      expect((await buy('5')).kind).toBe('throttled')
      // Idle for several intervals: refilled up to the bucket size, not beyond.
      await clock.advance(10_000)
      expect((await buy('5')).kind).toBe('accepted')
      expect((await buy('6')).kind).toBe('accepted')
      expect((await buy('7')).kind).toBe('throttled')
      // Without a bucket nothing is metered.
      expect(
        (await ledger.reserve({ voucherId: t.voucherId, userId: '7', orderId: id() })).kind
      ).toBe('accepted')
    })

    it('answers final refusals before the sale bucket, and keeps one bucket per sale', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const bucket = { tokens: 1, intervalMs: 60_000 }
      const early = terms(clock, { beginAt: clock.now() + MIN, stock: 1, initialStock: 1 })
      const other = terms(clock)
      await ledger.load(early, [])
      await ledger.load(other, [])
      const buy = (sale: SaleTerms, userId: string) =>
        ledger.reserve({ voucherId: sale.voucherId, userId, orderId: id(), bucket })
      for (let i = 0; i < 5; i++) {
        expect(await buy(early, String(i))).toEqual({
          kind: 'refused',
          reason: 'SALE_NOT_STARTED',
        })
      }
      expect((await buy(other, '1')).kind).toBe('accepted') // another sale's bucket
      expect((await buy(other, '2')).kind).toBe('throttled')
      await clock.advance(MIN)
      expect((await buy(early, '1')).kind).toBe('accepted') // its bucket is untouched
      // Sold out is final: it is answered as such, not as a 429 to retry.
      expect(await buy(early, '2')).toEqual({ kind: 'refused', reason: 'SOLD_OUT' })
    })

    it('never admits more than the sale bucket holds: 60 concurrent buyers, 10 tokens', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock, { stock: 100, initialStock: 100 })
      await ledger.load(t, [])
      const bucket = { tokens: 10, intervalMs: 60_000 }
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          ledger.reserve({ voucherId: t.voucherId, userId: String(i + 1), orderId: id(), bucket })
        )
      )
      expect(results.filter((r) => r.kind === 'accepted')).toHaveLength(10)
      expect(results.filter((r) => r.kind === 'throttled')).toHaveLength(50)
      expect(await ledger.audit(t.voucherId, false)).toMatchObject({
        stock: 90,
        expectedStock: 90,
        pending: 10,
        buyersOff: 0,
      })
    })

    it('honours a per-user limit above one with increasing seq', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock, { perUserLimit: 2 })
      await ledger.load(t, [])
      const a = await ledger.reserve({ voucherId: t.voucherId, userId: '7', orderId: id() })
      const b = await ledger.reserve({ voucherId: t.voucherId, userId: '7', orderId: id() })
      const c = await ledger.reserve({ voucherId: t.voucherId, userId: '7', orderId: id() })
      expect([a, b].map((x) => (x.kind === 'accepted' ? x.seq : 0))).toEqual([1, 2])
      expect(c).toEqual({ kind: 'refused', reason: 'ALREADY_PURCHASED' })
    })

    it('checks the sale window with the caller’s clock', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock, { beginAt: clock.now() + MIN, endAt: clock.now() + 2 * MIN })
      await ledger.load(t, [])
      const early = await ledger.reserve({ voucherId: t.voucherId, userId: '1', orderId: id() })
      expect(early).toEqual({ kind: 'refused', reason: 'SALE_NOT_STARTED' })
      await clock.advance(MIN)
      expect(
        (await ledger.reserve({ voucherId: t.voucherId, userId: '1', orderId: id() })).kind
      ).toBe('accepted')
      await clock.advance(MIN)
      const late = await ledger.reserve({ voucherId: t.voucherId, userId: '2', orderId: id() })
      expect(late).toEqual({ kind: 'refused', reason: 'SALE_ENDED' })
    })

    it('never oversells: 300 concurrent reservations from 200 users on stock 50', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock, { stock: 50, initialStock: 50 })
      await ledger.load(t, [])
      const attempts = Array.from({ length: 300 }, (_, i) => String(1 + (i % 200)))
      const results = await Promise.all(
        attempts.map((userId) => ledger.reserve({ voucherId: t.voucherId, userId, orderId: id() }))
      )
      const accepted = results.filter((r) => r.kind === 'accepted')
      expect(accepted).toHaveLength(50)
      expect(await ledger.remaining(t.voucherId)).toBe(0)
      expect(await ledger.remaining('987654321')).toBeNull()
      const refusals = new Set(
        results.filter((r) => r.kind === 'refused').map((r) => (r as { reason: string }).reason)
      )
      expect([...refusals].every((r) => r === 'SOLD_OUT' || r === 'ALREADY_PURCHASED')).toBe(true)
      const buyers = (await ledger.reservations(t.voucherId))!.map((r) => r.userId)
      expect(new Set(buyers).size).toBe(50)
      expect(await ledger.audit(t.voucherId, false)).toMatchObject({
        stock: 0,
        expectedStock: 0,
        buyersOff: 0,
        pending: 50,
      })
    })

    it('replays the first outcome for a repeated idempotency key', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock, { stock: 1, initialStock: 1 })
      await ledger.load(t, [])
      const orderId = id()
      const first = await ledger.reserve({
        voucherId: t.voucherId,
        userId: '5',
        orderId,
        idempotencyKey: 'k1',
      })
      const replay = await ledger.reserve({
        voucherId: t.voucherId,
        userId: '5',
        orderId: id(),
        idempotencyKey: 'k1',
      })
      expect(first).toMatchObject({ kind: 'accepted', orderId })
      expect(replay).toEqual({ kind: 'replayed', orderId })
      const refused = await ledger.reserve({
        voucherId: t.voucherId,
        userId: '6',
        orderId: id(),
        idempotencyKey: 'k1',
      })
      expect(refused).toEqual({ kind: 'refused', reason: 'SOLD_OUT' }) // keys are per user
      // a refusal is not recorded: once stock is back, the same key buys
      await ledger.transition(t.voucherId, orderId, 'failed', ['pending'])
      const later = await ledger.reserve({
        voucherId: t.voucherId,
        userId: '6',
        orderId: id(),
        idempotencyKey: 'k1',
      })
      expect(later.kind).toBe('accepted')
    })

    it('does not replay a temporary refusal: SALE_NOT_STARTED, then the same key buys', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock, { beginAt: clock.now() + MIN })
      await ledger.load(t, [])
      const call = { voucherId: t.voucherId, userId: '5', idempotencyKey: 'early' }
      expect(await ledger.reserve({ ...call, orderId: id() })).toEqual({
        kind: 'refused',
        reason: 'SALE_NOT_STARTED',
      })
      await clock.advance(MIN)
      const orderId = id()
      expect((await ledger.reserve({ ...call, orderId })).kind).toBe('accepted')
      expect(await ledger.reserve({ ...call, orderId: id() })).toEqual({
        kind: 'replayed',
        orderId,
      })
    })

    it('commits, cancels and fails each exactly once, returning stock and quota as documented', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock, { stock: 2, initialStock: 2 })
      await ledger.load(t, [])
      const [a, b] = [id(), id()]
      await ledger.reserve({ voucherId: t.voucherId, userId: '1', orderId: a })
      await ledger.reserve({ voucherId: t.voucherId, userId: '2', orderId: b })
      const stock = async () => (await ledger.audit(t.voucherId, false))!.stock
      expect(await stock()).toBe(0)

      expect(await ledger.transition(t.voucherId, a, 'committed', ['pending'])).toEqual({
        outcome: 'applied',
        from: 'pending',
      })
      expect(await ledger.transition(t.voucherId, a, 'committed', ['pending'])).toEqual({
        outcome: 'unchanged',
        from: 'committed',
      })
      expect(await stock()).toBe(0)

      // cancel: stock back once, quota kept
      expect(
        (await ledger.transition(t.voucherId, a, 'cancelled', ['pending', 'committed'])).outcome
      ).toBe('applied')
      expect(
        (await ledger.transition(t.voucherId, a, 'cancelled', ['pending', 'committed'])).outcome
      ).toBe('unchanged')
      expect(await stock()).toBe(1)
      expect(
        (await ledger.reserve({ voucherId: t.voucherId, userId: '1', orderId: id() })).kind
      ).toBe('refused')
      // a released order cannot be committed by a late consumer
      expect(await ledger.transition(t.voucherId, a, 'committed', ['pending'])).toEqual({
        outcome: 'refused',
        from: 'cancelled',
      })

      // fail: stock and quota back once
      expect(
        (await ledger.transition(t.voucherId, b, 'failed', ['pending', 'committed'])).outcome
      ).toBe('applied')
      expect(
        (await ledger.transition(t.voucherId, b, 'failed', ['pending', 'committed'])).outcome
      ).toBe('unchanged')
      expect(await stock()).toBe(2)
      expect(
        (await ledger.reserve({ voucherId: t.voucherId, userId: '2', orderId: id() })).kind
      ).toBe('accepted')
      expect(await ledger.audit(t.voucherId, false)).toMatchObject({
        buyersOff: 0,
        cancelled: 1,
        failed: 1,
        pending: 1,
      })
    })

    it('lists the outbox oldest first, up to a time, and drops committed entries', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock)
      await ledger.load(t, [])
      const ids = [id(), id(), id()]
      for (const [i, orderId] of ids.entries()) {
        await ledger.reserve({ voucherId: t.voucherId, userId: String(i + 1), orderId })
        await clock.advance(1_000)
      }
      const older = await ledger.outbox(t.voucherId, clock.now() - 2_000, 10)
      expect(older.map((r) => r.orderId)).toEqual(ids.slice(0, 2))
      await ledger.transition(t.voucherId, ids[0]!, 'committed', ['pending'])
      expect((await ledger.outbox(t.voucherId, clock.now(), 10)).map((r) => r.orderId)).toEqual(
        ids.slice(1)
      )
      expect(await ledger.outbox(t.voucherId, clock.now(), 1)).toHaveLength(1)
    })

    it('loads known reservations and adopts an unknown order (stock and quota taken once)', async () => {
      const clock = new ManualClock()
      const ledger = await make(clock)
      const t = terms(clock, { stock: 3, initialStock: 5 })
      const known: Reservation[] = [
        {
          voucherId: t.voucherId,
          orderId: id(),
          userId: '1',
          seq: 1,
          acceptedAt: 1,
          state: 'committed',
        },
        {
          voucherId: t.voucherId,
          orderId: id(),
          userId: '2',
          seq: 1,
          acceptedAt: 2,
          state: 'committed',
        },
        {
          voucherId: t.voucherId,
          orderId: id(),
          userId: '3',
          seq: 1,
          acceptedAt: 3,
          state: 'cancelled',
        },
      ]
      await ledger.load(t, known)
      expect(
        (await ledger.reserve({ voucherId: t.voucherId, userId: '3', orderId: id() })).kind
      ).toBe('refused')
      expect(await ledger.audit(t.voucherId, false)).toMatchObject({
        stock: 3,
        expectedStock: 3,
        buyersOff: 0,
      })
      const lost = id()
      const adopt = { userId: '9', seq: 1, acceptedAt: 4 }
      expect(await ledger.transition(t.voucherId, lost, 'committed', 'any', adopt)).toEqual({
        outcome: 'applied',
        from: 'unknown',
      })
      expect(await ledger.transition(t.voucherId, lost, 'committed', 'any', adopt)).toEqual({
        outcome: 'unchanged',
        from: 'committed',
      })
      expect(await ledger.audit(t.voucherId, false)).toMatchObject({
        stock: 2,
        expectedStock: 2,
        buyersOff: 0,
      })
      expect(await ledger.transition(voucher(), lost, 'committed', 'any', adopt)).toEqual({
        outcome: 'not-loaded',
        from: 'unknown',
      })
    })
  })
}
