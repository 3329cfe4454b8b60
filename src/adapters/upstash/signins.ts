import type { SignInCalendar } from '../../domain/ports/signins.ts'
import { type Redis, redisCall } from './client.ts'

/** Bits per month bitmap: day d is bit offset d - 1 (SETBIT), read back as BITFIELD GET u31 0. */
const DAYS = 31

/**
 * One bitmap per user per month, `<prefix>sign:{<userId>}:<yyyyMM>` (as the original's
 * `sign:<id>:yyyyMM`, with the user as hash tag so a user's months share a slot).
 */
export class UpstashSignInCalendar implements SignInCalendar {
  readonly #redis: Redis
  readonly #prefix: string

  constructor(redis: Redis, prefix = '') {
    this.#redis = redis
    this.#prefix = prefix
  }

  #key(userId: string, month: string): string {
    return `${this.#prefix}sign:{${userId}}:${month}`
  }

  async mark(userId: string, month: string, day: number): Promise<boolean> {
    const before = await redisCall(() => this.#redis.setbit(this.#key(userId, month), day - 1, 1))
    return before === 0
  }

  async months(userId: string, months: readonly string[]): Promise<number[]> {
    if (months.length === 0) return []
    const p = this.#redis.pipeline()
    for (const m of months) p.bitfield(this.#key(userId, m)).get(`u${DAYS}`, 0).exec()
    const replies = await redisCall(() => p.exec<number[][]>())
    // u31 at offset 0 reads day 1 as the most significant bit; the port wants day 1 as bit 0.
    return replies.map(([bits = 0]) => {
      let mask = 0
      for (let day = 1; day <= DAYS; day++) {
        if (Math.floor(bits / 2 ** (DAYS - day)) % 2 === 1) mask += 2 ** (day - 1)
      }
      return mask
    })
  }
}
