import type { Clock } from '../../domain/ports/clock.ts'

interface Sleeper {
  at: number
  resolve: () => void
}

/**
 * A clock that only moves when told to: for tests of TTLs, expiry, renewal windows and delays.
 * `advance()` wakes sleepers in deadline order and lets their continuations run before going on.
 */
export class ManualClock implements Clock {
  #now: number
  #sleepers: Sleeper[] = []

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve()
    if (ms <= 0) return new Promise((resolve) => setTimeout(resolve, 0))
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        at: this.#now + ms,
        resolve: () => {
          signal?.removeEventListener('abort', sleeper.resolve)
          this.#sleepers = this.#sleepers.filter((s) => s !== sleeper)
          resolve()
        },
      }
      this.#sleepers.push(sleeper)
      signal?.addEventListener('abort', sleeper.resolve, { once: true })
    })
  }

  /** Number of pending sleepers (e.g. to check a background loop is waiting). */
  get pending(): number {
    return this.#sleepers.length
  }

  /** Moves time forward by `ms`, waking every sleeper whose deadline is reached, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms
    for (;;) {
      const next = this.#sleepers.reduce<Sleeper | undefined>(
        (min, s) => (s.at <= target && (!min || s.at < min.at) ? s : min),
        undefined
      )
      if (!next) break
      this.#now = next.at
      next.resolve()
      // Let the woken continuation run (it may sleep again before we look for the next one).
      await new Promise((resolve) => setTimeout(resolve, 0))
    }
    this.#now = target
  }

  /** Jumps to an absolute time (never backwards), waking sleepers on the way. */
  async set(ms: number): Promise<void> {
    if (ms > this.#now) await this.advance(ms - this.#now)
  }
}
