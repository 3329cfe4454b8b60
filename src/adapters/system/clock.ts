import type { Clock } from '../../domain/ports/clock.ts'

/** Wall-clock time and real timers (Web-standard: works on Workers, Node and Deno). */
export class SystemClock implements Clock {
  now(): number {
    return Date.now()
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + Math.max(0, ms)
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve()
      let timer: ReturnType<typeof setTimeout>
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      // Timers may fire a millisecond early by Date.now(); wait out the remainder so the contract
      // "resolves once `ms` have passed on this clock" holds exactly.
      const wait = () => {
        const left = deadline - Date.now()
        timer = left > 0 ? setTimeout(wait, left) : setTimeout(done, 0)
      }
      signal?.addEventListener('abort', done, { once: true })
      wait()
    })
  }
}
