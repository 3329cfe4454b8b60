/**
 * Sharing the thread with requests. Background work that handles many items (the cron jobs:
 * relay, reconciliation, overdue cancellations) does them in bounded chunks and calls `pause()`
 * between chunks, so requests waiting on the same event loop are never held for more than one
 * chunk's synchronous work — which matters wherever the jobs share a thread with the server (Node,
 * Bun, Deno; the embedded mode's in-memory Redis and PGlite answer within the same turn).
 */
export interface Pacer {
  /**
   * Resolves on a later macrotask, never within the current one: the microtasks queued now, and
   * callbacks of I/O that has completed, run first. Never rejects.
   */
  pause(): Promise<void>
}
