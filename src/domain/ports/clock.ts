/**
 * Time. Every time-dependent rule reads the clock through this port so tests can control it.
 */
export interface Clock {
  /** Current time as Unix epoch milliseconds. */
  now(): number
  /**
   * Resolves once `ms` milliseconds of this clock's time have passed (a real clock waits; a manual
   * test clock resolves when advanced past the deadline). `ms <= 0` resolves on the next tick.
   * When `signal` aborts, the promise resolves early (it never rejects) and the timer is freed.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}
