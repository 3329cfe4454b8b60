import { type PersistMessage, pause, publishAccepted, type SeckillDeps } from './seckill.ts'

/**
 * Group commit of accepted orders, on the queue side: the acceptances of one turn of the event loop
 * leave together, in ONE queue request, as persist messages of up to `policy.persistBatch` orders
 * (and one payment timeout per message). A busy sale then costs one queue delivery, one signature
 * check and one Postgres statement per group instead of per order (`handlePersist`). The wait is a
 * single `Pacer.pause()` (a macrotask, no timer): an order never waits for a group to fill.
 *
 * Nothing new can be lost: until its publish resolves, every accepted order is in the ledger's
 * outbox, as it was when each order was published alone, and a crash or a failed publish leaves it
 * to the relay. One batcher serves one process (Node) or one request (Workers, where I/O cannot be
 * shared across requests: a group of one).
 */
export class OrderBatcher {
  readonly #deps: Pick<SeckillDeps, 'queue' | 'policy' | 'clock' | 'pacer'>
  #waiting: PersistMessage[] = []
  #flush: Promise<void> | null = null

  constructor(deps: Pick<SeckillDeps, 'queue' | 'policy' | 'clock' | 'pacer'>) {
    this.#deps = deps
  }

  /**
   * Adds one accepted order to the group that leaves after the current turn of the event loop.
   * Resolves once that group's publish settles: the first order's promise rejects if the publish
   * failed (so the failure is reported once), the others' never reject.
   */
  add(message: PersistMessage): Promise<void> {
    this.#waiting.push(message)
    if (this.#flush) return this.#flush.catch(() => {})
    const flush = pause(this.#deps).then(() => this.#send())
    this.#flush = flush
    return flush
  }

  async #send(): Promise<void> {
    const group = this.#waiting
    this.#waiting = []
    this.#flush = null
    await publishAccepted(this.#deps, group)
  }
}
