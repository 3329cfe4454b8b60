import { composeId, utcDay } from '../../domain/ids.ts'
import type { Clock } from '../../domain/ports/clock.ts'
import type { Ids } from '../../domain/ports/ids.ts'
import { randomDigits, randomToken } from '../system/random.ts'

/** Ids from an in-process per-day counter: unique within one process only (tests, embedded mode). */
export class MemoryIds implements Ids {
  readonly #clock: Clock
  readonly #counters = new Map<string, number>()

  constructor(clock: Clock) {
    this.#clock = clock
  }

  async next(kind: string): Promise<string> {
    const now = this.#clock.now()
    const key = `${kind}:${utcDay(now)}`
    const seq = (this.#counters.get(key) ?? 0) + 1
    this.#counters.set(key, seq)
    return composeId(now, seq)
  }

  token(bytes?: number): string {
    return randomToken(bytes)
  }

  digits(digits: number): string {
    return randomDigits(digits)
  }
}
