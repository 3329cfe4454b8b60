import type { Clock } from '../../domain/ports/clock.ts'
import type { CodeCheck, CodePolicy, LoginCodes } from '../../domain/ports/login-codes.ts'
import { randomToken } from '../system/random.ts'
import { type Redis, redisCall } from './client.ts'
import { evalLua } from './lua.ts'

/** How long a consumed code remembers the attempt that consumed it (for that call's retry). */
const CONSUMED_MEMORY_MS = 60_000

/**
 * Codes as `<prefix>login:{<phone>}:code` hashes {c, e}; failures and the lock sit next to them
 * under the same hash tag, so lua/login-code-verify.lua checks and consumes in one atomic call.
 */
export class UpstashLoginCodes implements LoginCodes {
  readonly #redis: Redis
  readonly #clock: Clock
  readonly #prefix: string

  constructor(redis: Redis, clock: Clock, prefix = '') {
    this.#redis = redis
    this.#clock = clock
    this.#prefix = prefix
  }

  #keys(phone: string): [string, string, string] {
    const base = `${this.#prefix}login:{${phone}}`
    return [`${base}:code`, `${base}:fail`, `${base}:lock`]
  }

  async issue(phone: string, code: string, ttlMs: number): Promise<void> {
    const [key] = this.#keys(phone)
    const expires = this.#clock.now() + ttlMs
    // The code is stored as a string on purpose ("012345" must not become a number).
    await redisCall(() =>
      this.#redis
        .multi()
        .del(key)
        .hset(key, { c: `${code}`, e: expires })
        .pexpire(key, ttlMs)
        .exec()
    )
  }

  /**
   * One EVALSHA with a fresh attempt id: when its reply is lost and the client retries the same
   * request, the script recognises the id and returns the first outcome (see the script header).
   */
  async verify(phone: string, code: string, policy: CodePolicy): Promise<CodeCheck> {
    const attempt = randomToken(12)
    const [status, n] = await redisCall(() =>
      evalLua<[number, number]>(this.#redis, 'loginCodeVerify', this.#keys(phone), [
        code,
        String(this.#clock.now()),
        String(policy.maxFailures),
        String(policy.lockMs),
        attempt,
        String(CONSUMED_MEMORY_MS),
      ])
    )
    if (status === 1) return { ok: true }
    if (status === -2) return { ok: false, reason: 'locked', retryAfterMs: n }
    return { ok: false, reason: 'invalid', attemptsLeft: n }
  }
}
