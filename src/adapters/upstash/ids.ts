import { composeId, utcDay } from '../../domain/ids.ts'
import type { Clock } from '../../domain/ports/clock.ts'
import type { Ids } from '../../domain/ports/ids.ts'
import { randomDigits, randomToken } from '../system/random.ts'
import { type Redis, redisCall } from './client.ts'

/** Per-day sequence keys live two days (the original's `icr:*` keys never expired). */
const SEQUENCE_TTL_SECONDS = 2 * 24 * 3600

/**
 * Ids whose sequence is an INCR on `<prefix>icr:<kind>:<yyyymmdd>` (UTC), shared by every
 * instance: one round trip per id, or none of its own when it shares a pipelined request.
 */
export class UpstashIds implements Ids {
  readonly #redis: Redis
  readonly #clock: Clock
  readonly #prefix: string

  constructor(redis: Redis, clock: Clock, prefix = '') {
    this.#redis = redis
    this.#clock = clock
    this.#prefix = prefix
  }

  async next(kind: string): Promise<string> {
    const now = this.#clock.now()
    const key = `${this.#prefix}icr:${kind}:${utcDay(now)}`
    // Issued in the same tick, both join the client's current auto-pipeline batch: one HTTP
    // request, shared with whatever else the caller issues in that tick (the flash-sale hot path).
    const [seq] = await redisCall(() =>
      Promise.all([this.#redis.incr(key), this.#redis.expire(key, SEQUENCE_TTL_SECONDS)])
    )
    return composeId(now, seq)
  }

  token(bytes?: number): string {
    return randomToken(bytes)
  }

  digits(digits: number): string {
    return randomDigits(digits)
  }
}
