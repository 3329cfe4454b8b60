import type { Pacer } from '../../domain/ports/pacer.ts'

type Immediate = (callback: () => void) => unknown
/** The globals the pacer looks for (tests pass a runtime's subset). */
export interface PacerGlobals {
  setImmediate?: Immediate
  scheduler?: { yield?: () => Promise<void> }
}

/**
 * Yields to the event loop: `setImmediate` where the runtime has it (Node, Bun: runs right after
 * pending I/O is polled, without `setTimeout`'s 1 ms floor), else the Web's `scheduler.yield()`,
 * else `setTimeout(0)` (Workers, browsers).
 */
export class MacrotaskPacer implements Pacer {
  readonly #next: () => Promise<void>

  constructor(g: PacerGlobals = globalThis as PacerGlobals) {
    const immediate = g.setImmediate
    const scheduler = g.scheduler
    this.#next = immediate
      ? () => new Promise<void>((resolve) => void immediate(resolve))
      : typeof scheduler?.yield === 'function'
        ? () => scheduler.yield!()
        : () => new Promise<void>((resolve) => setTimeout(resolve, 0))
  }

  pause(): Promise<void> {
    return this.#next()
  }
}
