export interface PublishOptions {
  /** Deliver no earlier than this many ms from now (QStash rounds up to whole seconds). Default 0. */
  delayMs?: number
  /** Publishing the same id again within the dedup window is accepted but delivered only once. */
  dedupId?: string
  /** Redeliveries after a failed attempt; total attempts = 1 + retries. Default 3. */
  retries?: number
}

/** One message of a batch: what `publish(topic, body, opts)` would publish alone. */
export interface BatchItem {
  topic: string
  body: unknown
  opts?: PublishOptions
}

export interface PublishReceipt {
  messageId: string
  /** true when `dedupId` matched an earlier message and nothing new was queued. */
  deduplicated: boolean
}

/**
 * Durable, at-least-once delivery of JSON messages to the app's own consumers, with delays,
 * deduplication, retries with backoff, and a dead-letter hand-off when retries run out.
 */
export interface Queue {
  /**
   * Accepts `body` (JSON-serialisable) for delivery to the consumer of `topic`. Resolves once the
   * queue has durably accepted it; rejects with DependencyUnavailable('queue') when it could not
   * (the caller must keep the work somewhere durable, e.g. an outbox, and publish again later).
   */
  publish(topic: string, body: unknown, opts?: PublishOptions): Promise<PublishReceipt>
  /**
   * Accepts several messages in ONE request to the queue (QStash: `POST /v2/batch`), each exactly
   * as `publish` would (its own delay, counted from now, dedup id and retries). Resolves with one
   * receipt per item, in order, once every item is accepted; an empty batch sends nothing.
   * Rejects with DependencyUnavailable('queue') otherwise. A batch refused as a whole (unreachable,
   * an error status, a malformed or unserialisable item) queued nothing, but acceptance is NOT
   * all-or-nothing in general: QStash accepts a well-formed batch message by message and may refuse
   * some of them, so after a rejection any subset may be queued. Callers that must not lose or
   * double an item give every item a dedup id and publish the same batch again later (the
   * duplicates are dropped within the dedup window; consumers are idempotent anyway).
   */
  publishBatch(items: readonly BatchItem[]): Promise<PublishReceipt[]>
}

export interface Delivery<T = unknown> {
  topic: string
  body: T
  messageId: string
  /** 0 on the first attempt, n on the n-th redelivery. */
  attempt: number
}

export interface DeadLetter<T = unknown> extends Delivery<T> {
  /** Why the last attempt failed (status and message; never secrets). */
  reason: string
}

/** The consumer of one topic. Deliveries are at least once: both methods must be idempotent. */
export interface TopicHandler<T = unknown> {
  /** Processes one delivery. Throwing schedules a redelivery; throw PermanentFailure to skip retries. */
  handle(delivery: Delivery<T>): Promise<void>
  /** Called after the last attempt failed (the dead-letter hand-off), e.g. to compensate. */
  deadLetter(letter: DeadLetter<T>): Promise<void>
}

export type TopicHandlers = Readonly<Record<string, TopicHandler<never>>>

/** Authenticates deliveries that arrive over HTTP at the consumer endpoint. */
export interface DeliveryVerifier {
  /** true only when `signature` proves the queue sent exactly `body` to `url` recently. */
  verify(input: { signature: string | null; body: string; url: string }): Promise<boolean>
}
