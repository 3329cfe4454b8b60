import { BroadcastHub, type Firehose } from '../pubsub/hub.ts'

type Handler = (channel: string, message: string) => void

/**
 * An in-process broker (the embedded default and unit tests): publish delivers to every connected
 * hub asynchronously, in publish order. `drop()` simulates a lost broker connection.
 */
export class MemoryBroker implements Firehose {
  readonly #handlers = new Map<Handler, () => void>()

  async connect(onMessage: Handler, signal: AbortSignal) {
    const closed = new Promise<void>((resolve) => {
      const end = () => {
        this.#handlers.delete(onMessage)
        resolve()
      }
      this.#handlers.set(onMessage, end)
      signal.addEventListener('abort', end, { once: true })
    })
    return { closed }
  }

  async publish(channel: string, message: string): Promise<void> {
    for (const handler of [...this.#handlers.keys()])
      queueMicrotask(() => handler(channel, message))
  }

  /** Ends every connection, as a broker restart would. */
  drop() {
    for (const end of [...this.#handlers.values()]) end()
  }
}

/** The memory Broadcast: the shared hub over one in-process broker. */
export function memoryBroadcast(broker = new MemoryBroker()): BroadcastHub {
  return new BroadcastHub(broker)
}
