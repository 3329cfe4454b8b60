import type { Clock } from '../../domain/ports/clock.ts'
import type { TierVerdict, WindowLimiter, WindowTier } from '../../domain/ports/window-limiter.ts'

/** Sliding windows in a Map with lua/window-hit.lua's semantics (one process only). */
export class MemoryWindowLimiter implements WindowLimiter {
  readonly #clock: Clock
  readonly #events = new Map<string, number[]>()

  constructor(clock: Clock) {
    this.#clock = clock
  }

  hit(key: string, tiers: readonly WindowTier[]): Promise<TierVerdict> {
    return this.#run(key, tiers, true)
  }

  peek(key: string, tiers: readonly WindowTier[]): Promise<TierVerdict> {
    return this.#run(key, tiers, false)
  }

  async #run(key: string, tiers: readonly WindowTier[], record: boolean): Promise<TierVerdict> {
    const now = this.#clock.now()
    const longest = Math.max(0, ...tiers.map((t) => t.windowMs))
    const events = (this.#events.get(key) ?? []).filter((at) => at > now - longest)
    this.#events.set(key, events)
    for (const [i, tier] of tiers.entries()) {
      const inWindow = events.filter((at) => at > now - tier.windowMs)
      if (inWindow.length >= tier.max) {
        const blocking = inWindow[inWindow.length - tier.max]!
        return { allowed: false, tier: i, retryAfterMs: blocking + tier.windowMs - now }
      }
    }
    if (record) events.push(now)
    return { allowed: true }
  }

  async undoLast(key: string): Promise<void> {
    this.#events.get(key)?.pop()
  }
}
