import { ManualClock } from '../../src/adapters/memory/clock.ts'
import { MemoryStockLedger } from '../../src/adapters/memory/stock-ledger.ts'

/** A memory ledger on a manual clock with one sale loaded: open now, for a minute, 1 per user. */
export async function memorySale(voucherId: string, stock: number) {
  const clock = new ManualClock()
  const ledger = new MemoryStockLedger(clock)
  await ledger.load(
    {
      voucherId,
      stock,
      initialStock: stock,
      beginAt: clock.now() - 1,
      endAt: clock.now() + 60_000,
      perUserLimit: 1,
    },
    []
  )
  return { clock, ledger }
}
