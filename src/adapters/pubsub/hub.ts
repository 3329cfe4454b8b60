import { DependencyUnavailable } from '../../domain/errors.ts'
import type { Broadcast, BroadcastListener, Subscription } from '../../domain/ports/broadcast.ts'

/**
 * One upstream subscription that delivers every channel of this app (a Redis PSUBSCRIBE on
 * `<prefix>*`): over Upstash's REST streaming subscribe, over a TCP connection, or in memory.
 */
export interface Firehose {
  /**
   * Subscribes; resolves once the subscription is live. `closed` resolves when the connection ends
   * for any reason (aborting `signal` ends it too). Channel names arrive without the prefix.
   */
  connect(
    onMessage: (channel: string, message: string) => void,
    signal: AbortSignal
  ): Promise<{ closed: Promise<void> }>
  publish(channel: string, message: string): Promise<void>
}

interface Upstream {
  abort: AbortController
  ready: Promise<void>
  /** The subscription was confirmed (listeners are reset only after that). */
  live: boolean
}

/**
 * The local hub: multiplexes every local listener of every channel over ONE firehose connection,
 * opened with the first listener and closed with the last. A dropped connection resets (and
 * detaches) every listener; the next subscribe connects again.
 */
export class BroadcastHub implements Broadcast {
  readonly #firehose: Firehose
  readonly #channels = new Map<string, Set<BroadcastListener>>()
  #upstream: Upstream | null = null
  #listeners = 0
  /** Broker connections opened so far (tests and metrics: one per burst of clients). */
  connections = 0

  constructor(firehose: Firehose) {
    this.#firehose = firehose
  }

  /** Local listeners currently attached. */
  get listeners(): number {
    return this.#listeners
  }

  publish(channel: string, message: string): Promise<void> {
    return this.#firehose.publish(channel, message)
  }

  async subscribe(channel: string, listener: BroadcastListener): Promise<Subscription> {
    const set = this.#channels.get(channel) ?? new Set()
    this.#channels.set(channel, set)
    set.add(listener)
    this.#listeners++
    const subscription = { close: () => this.#detach(channel, listener) }
    try {
      await this.#connect().ready
    } catch (e) {
      subscription.close()
      throw new DependencyUnavailable('redis', e)
    }
    return subscription
  }

  #detach(channel: string, listener: BroadcastListener): boolean {
    const set = this.#channels.get(channel)
    if (!set?.delete(listener)) return false
    if (set.size === 0) this.#channels.delete(channel)
    if (--this.#listeners === 0) this.#disconnect()
    return true
  }

  #connect(): Upstream {
    if (this.#upstream) return this.#upstream
    const abort = new AbortController()
    this.connections++
    const upstream: Upstream = {
      abort,
      live: false,
      ready: this.#firehose
        .connect((channel, message) => this.#deliver(channel, message), abort.signal)
        .then(({ closed }) => {
          upstream.live = true
          closed.then(() => this.#lost(upstream))
        }),
    }
    upstream.ready.catch(() => this.#lost(upstream))
    this.#upstream = upstream
    return upstream
  }

  #deliver(channel: string, message: string) {
    for (const listener of [...(this.#channels.get(channel) ?? [])]) {
      try {
        listener.message(message)
      } catch {
        // a listener's failure is its own
      }
    }
  }

  #disconnect() {
    this.#upstream?.abort.abort()
    this.#upstream = null
  }

  /** The connection ended: if it was not ours to close, every listener is reset and detached. */
  #lost(upstream: Upstream) {
    if (this.#upstream !== upstream) return
    this.#upstream = null
    upstream.abort.abort()
    const all = [...this.#channels.entries()]
    this.#channels.clear()
    this.#listeners = 0
    // Never confirmed: the waiting subscribe calls reject instead.
    if (!upstream.live) return
    for (const [, set] of all) {
      for (const listener of set) {
        try {
          listener.reset()
        } catch {
          // ignore
        }
      }
    }
  }
}
