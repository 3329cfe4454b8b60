import { describe, expect, it } from 'vitest'
import { ManualClock } from '../src/adapters/memory/clock.ts'
import type { StockLedger } from '../src/domain/ports/stock.ts'
import { orderEvent, parseOrderEvent, StockWatch } from '../src/domain/seckill/live.ts'
import { memorySale } from './harness/memory-sale.ts'

const order = {
  id: '1',
  voucherId: '2',
  createdAt: 0,
  paidAt: null,
  cancelledAt: null,
}

describe('live order events', () => {
  it('numbers states along the path and rejects what is not an order event', () => {
    expect(
      (['pending', 'unpaid', 'paid', 'cancelled', 'failed'] as const).map(
        (status) => orderEvent({ ...order, status }).seq
      )
    ).toEqual([1, 2, 3, 3, 3])
    expect(parseOrderEvent(JSON.stringify({ ...order, status: 'paid', seq: 1 }))?.seq).toBe(3)
    for (const bad of ['nope', '{}', '{"status":"toString"}', '{"status":"shipped"}', 'null']) {
      expect(parseOrderEvent(bad)).toBeNull()
    }
  })
})

describe('StockWatch', () => {
  it('polls once per interval for all viewers of a sale, pushes only changes, stops with the last', async () => {
    const { clock, ledger } = await memorySale('7', 3)
    const watch = new StockWatch(ledger, clock, 500)
    const seen: number[][] = [[], [], []]
    const stops = seen.map((got) => watch.watch('7', { stock: (n) => got.push(n), lost: () => {} }))
    expect([watch.listeners, watch.sales]).toEqual([3, 1])
    const firstRead = watch.untilReads(1)
    await clock.advance(500)
    await firstRead
    await ledger.reserve({ voucherId: '7', userId: '1', orderId: '100' })
    await clock.advance(500)
    await clock.advance(500) // unchanged: nothing pushed
    expect(seen).toEqual([
      [3, 2],
      [3, 2],
      [3, 2],
    ])
    expect(watch.reads).toBe(3)
    for (const stop of stops) stop()
    expect([watch.listeners, watch.sales]).toEqual([0, 0])
    await clock.advance(5_000)
    expect(watch.reads).toBe(3)
    expect(clock.pending).toBe(0)
  })

  it('tells every viewer once when a read fails, and detaches them', async () => {
    const clock = new ManualClock()
    const failing = { remaining: () => Promise.reject(new Error('down')) } as unknown as StockLedger
    const watch = new StockWatch(failing, clock, 500)
    let lost = 0
    watch.watch('7', { stock: () => {}, lost: () => lost++ })
    watch.watch('7', { stock: () => {}, lost: () => lost++ })
    await clock.advance(500)
    await clock.advance(500)
    expect(lost).toBe(2)
    expect(clock.pending).toBe(0)
  })
})
