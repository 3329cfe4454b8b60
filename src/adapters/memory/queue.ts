import { DependencyUnavailable, PermanentFailure } from '../../domain/errors.ts'
import type { Clock } from '../../domain/ports/clock.ts'
import type {
  BatchItem,
  Delivery,
  DeliveryVerifier,
  PublishOptions,
  PublishReceipt,
  Queue,
  TopicHandler,
  TopicHandlers,
} from '../../domain/ports/queue.ts'
import { randomToken } from '../system/random.ts'

export interface MemoryQueueOptions {
  /** Wait before redelivery n (1-based), in ms. Default: QStash's min(1 day, e^(2.5 n) s). */
  backoffMs?: (retry: number) => number
  /** How long a dedup id is remembered, in ms. Default 10 minutes. */
  dedupWindowMs?: number
  /** Called when a handler fails (for logging); never throws into the queue. */
  onError?: (topic: string, messageId: string, error: unknown) => void
  /**
   * Deliveries handled at once (default 2); the rest wait their turn, in order. Each delivery
   * also starts on a fresh macrotask, so a burst of deliveries never holds the event loop (and the
   * requests waiting on it) for longer than one handler's synchronous work.
   */
  concurrency?: number
}

const DEFAULT_RETRIES = 3

/**
 * In-process delivery with QStash's semantics (delay, dedup, retries with backoff, dead-letter
 * hand-off, JSON round trip of the body), timed by the Clock port. Not durable: for unit tests and
 * the single-process embedded mode. `idle()` lets tests wait for delivery without sleeping.
 */
export class MemoryQueue implements Queue {
  readonly #clock: Clock
  readonly #handlers: () => TopicHandlers
  readonly #backoffMs: (retry: number) => number
  readonly #dedupWindowMs: number
  readonly #onError: MemoryQueueOptions['onError']
  readonly #dedup = new Map<string, { messageId: string; at: number }>()
  #closed = false
  /** One abort per delayed delivery: sleeps on one shared signal cost O(waiting) each to add. */
  readonly #sleeping = new Set<AbortController>()
  readonly #jobs = new Set<Promise<void>>()
  #running = 0
  #idleWaiters: (() => void)[] = []
  readonly #concurrency: number
  #active = 0
  readonly #turns: (() => void)[] = []

  /** `handlers` is read lazily because consumers usually depend on the queue themselves. */
  constructor(clock: Clock, handlers: () => TopicHandlers, options: MemoryQueueOptions = {}) {
    this.#clock = clock
    this.#handlers = handlers
    this.#backoffMs = options.backoffMs ?? ((n) => Math.min(86_400, Math.exp(2.5 * n)) * 1000)
    this.#dedupWindowMs = options.dedupWindowMs ?? 10 * 60_000
    this.#onError = options.onError
    this.#concurrency = Math.max(1, options.concurrency ?? 2)
  }

  /** Waits for a delivery slot (handed over directly by the delivery that frees it). */
  async #acquire(): Promise<void> {
    if (this.#active < this.#concurrency) this.#active++
    else await new Promise<void>((resolve) => this.#turns.push(resolve))
    // A macrotask boundary: requests queued behind a burst of deliveries get their turn.
    await new Promise((resolve) => setTimeout(resolve, 0))
  }

  #releaseSlot(): void {
    const next = this.#turns.shift()
    if (next) next()
    else this.#active--
  }

  async publish(topic: string, body: unknown, opts: PublishOptions = {}): Promise<PublishReceipt> {
    return this.#accept(topic, JSON.stringify(body ?? null), opts)
  }

  /** Serialises every item first: a batch with an unserialisable body queues nothing. */
  async publishBatch(items: readonly BatchItem[]): Promise<PublishReceipt[]> {
    let jsons: string[]
    try {
      jsons = items.map((it) => JSON.stringify(it.body ?? null))
    } catch (e) {
      throw new DependencyUnavailable('queue', e)
    }
    return items.map((it, i) => this.#accept(it.topic, jsons[i]!, it.opts ?? {}))
  }

  #accept(topic: string, json: string, opts: PublishOptions): PublishReceipt {
    const now = this.#clock.now()
    if (opts.dedupId !== undefined) {
      const seen = this.#dedup.get(`${topic}\0${opts.dedupId}`)
      if (seen && now - seen.at < this.#dedupWindowMs) {
        return { messageId: seen.messageId, deduplicated: true }
      }
    }
    const messageId = `msg_${randomToken(12)}`
    if (opts.dedupId !== undefined) {
      if (this.#dedup.size >= 10_000) this.#forgetBefore(now - this.#dedupWindowMs)
      const key = `${topic}\0${opts.dedupId}`
      this.#dedup.delete(key) // re-inserted at the end: the map stays in publish order
      this.#dedup.set(key, { messageId, at: now })
    }
    const job = this.#deliver(
      topic,
      json,
      messageId,
      opts.delayMs ?? 0,
      opts.retries ?? DEFAULT_RETRIES
    )
    this.#jobs.add(job)
    job.finally(() => this.#jobs.delete(job))
    return { messageId, deduplicated: false }
  }

  async #deliver(topic: string, json: string, messageId: string, delayMs: number, retries: number) {
    let wait = delayMs
    for (let attempt = 0; ; attempt++) {
      if (wait > 0) await this.#sleep(wait)
      if (this.#closed) return
      this.#running++ // counted from now on: idle() waits for deliveries waiting for a slot
      await this.#acquire()
      const handler = this.#handlers()[topic] as TopicHandler<unknown> | undefined
      const delivery: Delivery<unknown> = { topic, body: JSON.parse(json), messageId, attempt }
      try {
        if (!handler) throw new PermanentFailure(`no consumer for topic ${topic}`)
        await handler.handle(delivery)
        return
      } catch (error) {
        this.#onError?.(topic, messageId, error)
        if (error instanceof PermanentFailure || attempt >= retries) {
          await handler
            ?.deadLetter({ ...delivery, reason: errorText(error) })
            .catch((e) => this.#onError?.(topic, messageId, e))
          return
        }
      } finally {
        this.#releaseSlot()
        this.#running--
        if (this.#running === 0) this.#wakeIdle()
      }
      wait = this.#backoffMs(attempt + 1)
    }
  }

  async #sleep(ms: number): Promise<void> {
    const stop = new AbortController()
    this.#sleeping.add(stop)
    try {
      await this.#clock.sleep(ms, stop.signal)
    } finally {
      this.#sleeping.delete(stop)
    }
  }

  /**
   * Forgets dedup ids seen at or before `cutoff`. The map is in publish order, so this stops at
   * the first younger entry: amortized O(1) per publish however many ids are remembered.
   */
  #forgetBefore(cutoff: number) {
    for (const [key, seen] of this.#dedup) {
      if (seen.at > cutoff) break
      this.#dedup.delete(key)
    }
  }

  #wakeIdle() {
    // Resolve on the next macrotask so a just-finished handler's follow-up publish is counted.
    setTimeout(() => {
      if (this.#running > 0) return
      const waiters = this.#idleWaiters
      this.#idleWaiters = []
      for (const w of waiters) w()
    }, 0)
  }

  /** Resolves when no delivery is running (messages waiting for a delay or backoff don't count). */
  idle(): Promise<void> {
    if (this.#running === 0) return new Promise((resolve) => setTimeout(resolve, 0))
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /** Stops timers and waits for running deliveries; pending messages are dropped. */
  async close(): Promise<void> {
    this.#closed = true
    for (const stop of this.#sleeping) stop.abort()
    await Promise.allSettled([...this.#jobs])
  }
}

/** Memory mode has no external deliveries: the HTTP consumer endpoint refuses all of them. */
export class RejectAllVerifier implements DeliveryVerifier {
  async verify(): Promise<boolean> {
    return false
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}
