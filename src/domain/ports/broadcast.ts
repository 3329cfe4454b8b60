/**
 * Live notifications (pub/sub): "something changed" pushed to whoever is listening right now.
 *
 * Contract:
 * - **At most once, live only.** A message reaches the subscribers that were subscribed (their
 *   `subscribe` promise resolved) when it was published, at most once each, in publish order per
 *   publisher and channel. Nothing is stored: a subscriber that was not connected misses it.
 *   Publishing never fails the caller's state change; the state itself lives elsewhere (Postgres,
 *   the ledger) and is what a subscriber reads when it (re)connects.
 * - **Subscribe, then read.** `subscribe` resolves only once the subscription is live at the
 *   broker, so a subscriber that reads the current state after it resolves misses nothing between
 *   the read and the stream.
 * - **Reset.** If the broker connection drops, every listener gets `reset()` once and is then
 *   detached: messages may have been lost, so the subscriber must re-read the state (an SSE stream
 *   simply ends; the browser reconnects with `Last-Event-ID` and gets the current state).
 * - **Bounded fan-out.** An adapter keeps ONE broker subscription per isolate/process, shared by
 *   every local listener of every channel; channels are multiplexed locally. (Workers, where a
 *   stream cannot outlive its request: one per hub Durable Object, a fixed few per deployment.)
 * - Channel names are short ASCII without commas or spaces (e.g. `order:123`); messages are text.
 */
export interface Broadcast {
  /** Sends `message` to every current subscriber of `channel` (any process). */
  publish(channel: string, message: string): Promise<void>
  /**
   * Adds a listener of `channel`; resolves once messages published from now on will reach it.
   * Rejects with DependencyUnavailable when the broker cannot be reached.
   */
  subscribe(channel: string, listener: BroadcastListener): Promise<Subscription>
}

export interface BroadcastListener {
  /** One message, as published. Must not throw (errors are swallowed). */
  message(message: string): void
  /** The broker connection was lost: messages may be missing; the listener is detached. */
  reset(): void
}

export interface Subscription {
  /** Detaches the listener (idempotent); the broker subscription closes with the last one. */
  close(): void
}
