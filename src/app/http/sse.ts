import type { SSEStreamingApi } from 'hono/streaming'
import type { Clock } from '../../domain/ports/clock.ts'

/** A comment line every this many ms keeps proxies and the browser from timing the stream out. */
export const HEARTBEAT_MS = 15_000
/**
 * Every stream ends after this long and the browser reconnects (re-reading the state): bounds what
 * one connection costs (on Workers: its subrequests, e.g. the stock reads).
 */
export const STREAM_MAX_MS = 5 * 60_000
/** The browser reconnects this long after a stream ends early (SSE `retry:`). */
export const RETRY_MS = 1_000

/**
 * The messages one stream has yet to write: filled by a Broadcast listener, drained by the
 * stream's loop. `end()` (reset, client gone) wakes the loop for good.
 */
export class Inbox<T> {
  #items: T[] = []
  #wake: (() => void) | null = null
  ended = false

  push(item: T) {
    if (this.ended) return
    this.#items.push(item)
    this.#wake?.()
  }

  end() {
    this.ended = true
    this.#wake?.()
  }

  /** Everything queued now, without waiting. */
  drain(): T[] {
    return this.#items.splice(0)
  }

  /** Everything queued (waiting for at least one item), or [] once ended. */
  async take(): Promise<T[]> {
    while (this.#items.length === 0 && !this.ended) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
      this.#wake = null
    }
    if (this.ended) return []
    return this.#items.splice(0)
  }
}

/**
 * Runs `body` on an SSE stream with heartbeats (comment lines on the Clock, stopped with the
 * stream), ends `inbox` when the client goes away or after STREAM_MAX_MS. `cleanup` runs once,
 * however it ends.
 */
export async function liveStream<T>(
  stream: SSEStreamingApi,
  clock: Clock,
  inbox: Inbox<T>,
  cleanup: () => void,
  body: (signal: AbortSignal) => Promise<void>
): Promise<void> {
  const stop = new AbortController()
  stream.onAbort(() => {
    stop.abort()
    inbox.end()
  })
  // The stream's lifetime cap (ends the inbox, which ends `body`).
  const cap = clock.sleep(STREAM_MAX_MS, stop.signal).then(() => inbox.end())
  const beat = (async () => {
    for (;;) {
      await clock.sleep(HEARTBEAT_MS, stop.signal)
      if (stop.signal.aborted) return
      await stream.write(': heartbeat\n\n')
    }
  })()
  try {
    await body(stop.signal)
  } finally {
    stop.abort()
    cleanup()
    await Promise.all([beat, cap])
  }
}

/** `Last-Event-ID` as a state sequence number (0 when absent). */
export function lastEventId(header: string | undefined): number {
  return header ? Number(header) : 0
}
