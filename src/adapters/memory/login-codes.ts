import type { Clock } from '../../domain/ports/clock.ts'
import type { CodeCheck, CodePolicy, LoginCodes } from '../../domain/ports/login-codes.ts'

interface PhoneState {
  code?: { value: string; expiresAt: number }
  failures: number
  failuresExpireAt: number
  lockedUntil: number
}

/** Login codes in a Map with lua/login-code-verify.lua's semantics (one process only). */
export class MemoryLoginCodes implements LoginCodes {
  readonly #clock: Clock
  readonly #phones = new Map<string, PhoneState>()

  constructor(clock: Clock) {
    this.#clock = clock
  }

  #state(phone: string): PhoneState {
    let s = this.#phones.get(phone)
    if (!s) {
      s = { failures: 0, failuresExpireAt: 0, lockedUntil: 0 }
      this.#phones.set(phone, s)
    }
    return s
  }

  async issue(phone: string, code: string, ttlMs: number): Promise<void> {
    this.#state(phone).code = { value: code, expiresAt: this.#clock.now() + ttlMs }
  }

  async verify(phone: string, code: string, policy: CodePolicy): Promise<CodeCheck> {
    const now = this.#clock.now()
    const s = this.#state(phone)
    if (s.lockedUntil > now)
      return { ok: false, reason: 'locked', retryAfterMs: s.lockedUntil - now }
    if (s.failuresExpireAt <= now) {
      s.failures = 0
      s.failuresExpireAt = now + policy.lockMs
    }
    // Only a wrong code while one is issued counts (no lockout of a phone that has no code).
    if (!s.code || s.code.expiresAt <= now) {
      return { ok: false, reason: 'invalid', attemptsLeft: policy.maxFailures - s.failures }
    }
    if (s.code.value === code) {
      this.#phones.delete(phone)
      return { ok: true }
    }
    s.failures += 1
    if (s.failures >= policy.maxFailures) {
      s.lockedUntil = now + policy.lockMs
      s.failures = 0
      s.code = undefined
      return { ok: false, reason: 'locked', retryAfterMs: policy.lockMs }
    }
    return { ok: false, reason: 'invalid', attemptsLeft: policy.maxFailures - s.failures }
  }
}
