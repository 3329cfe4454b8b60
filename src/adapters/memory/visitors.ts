import type { VisitorCounter } from '../../domain/ports/visitors.ts'

/**
 * Exact unique-visitor counts with Sets (embedded mode and tests). Unlike the HyperLogLog of the
 * Redis adapter this is exact, and it grows with the number of visitors.
 */
export class MemoryVisitorCounter implements VisitorCounter {
  readonly #days = new Map<string, Set<string>>()

  async record(day: string, visitors: readonly string[]): Promise<void> {
    const set = this.#days.get(day) ?? new Set<string>()
    for (const v of visitors) set.add(v)
    this.#days.set(day, set)
  }

  async count(days: readonly string[]): Promise<{ perDay: number[]; union: number }> {
    const union = new Set<string>()
    const perDay = days.map((day) => {
      const set = this.#days.get(day)
      for (const v of set ?? []) union.add(v)
      return set?.size ?? 0
    })
    return { perDay, union: union.size }
  }
}
