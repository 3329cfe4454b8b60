import type { SignInCalendar } from '../../domain/ports/signins.ts'

/** Month bitmasks in a Map (one process only). */
export class MemorySignInCalendar implements SignInCalendar {
  readonly #masks = new Map<string, number>()

  async mark(userId: string, month: string, day: number): Promise<boolean> {
    const key = `${userId}:${month}`
    const mask = this.#masks.get(key) ?? 0
    const bit = 2 ** (day - 1)
    if (Math.floor(mask / bit) % 2 === 1) return false
    this.#masks.set(key, mask + bit)
    return true
  }

  async months(userId: string, months: readonly string[]): Promise<number[]> {
    return months.map((m) => this.#masks.get(`${userId}:${m}`) ?? 0)
  }
}
