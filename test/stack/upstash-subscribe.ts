/**
 * Upstash's streaming subscribe for the gateway stand-in: `POST /subscribe/<ch>[/<ch>...]` and
 * `POST /psubscribe/<pattern>[/...]` answer `text/event-stream` backed by real Redis pub/sub, one
 * dedicated Redis connection per HTTP stream (as the wire format of @upstash/redis expects):
 * `data: subscribe,<ch>,<n>` / `data: psubscribe,<pattern>,<n>` once each is live, then
 * `data: message,<ch>,<msg>` / `data: pmessage,<pattern>,<ch>,<msg>`. The stream ends when the
 * client goes away, the gateway closes, or the Redis connection fails (messages could be lost).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

/** What a stream needs of its own Redis connection (node-redis). */
interface SubscriberClient {
  connect(): Promise<unknown>
  destroy(): void
  on(event: 'error' | 'end', listener: () => void): unknown
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>
  pSubscribe(
    pattern: string,
    listener: (message: string, channel: string) => void
  ): Promise<unknown>
}

export function isSubscribePath(path: string): boolean {
  return /^\/p?subscribe\/[^/]/.test(path)
}

export interface SubscribeEndpoint {
  /** Serves one streaming subscribe request (auth already checked). */
  serve(path: string, req: IncomingMessage, res: ServerResponse): Promise<void>
  /** Streams currently open. */
  readonly open: number
  /** Resolves once exactly `n` streams are open (at once if they are now). */
  until(n: number): Promise<void>
  /** Ends every open stream. */
  close(): void
}

/** `connection()` makes a new, not yet connected, Redis connection that must not reconnect. */
export function subscribeEndpoint(connection: () => SubscriberClient): SubscribeEndpoint {
  const streams = new Set<() => void>()
  const waiters = new Set<() => void>()
  const changed = () => {
    for (const w of [...waiters]) w()
  }
  return {
    get open() {
      return streams.size
    },
    until: (n) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (streams.size !== n) return
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        check()
      }),
    async serve(path, req, res) {
      for await (const _ of req) {
        // the body is `[]`
      }
      const [kind, ...targets] = path.slice(1).split('/').map(decodeURIComponent)
      const pattern = kind === 'psubscribe'
      const sub = connection()
      let ended = false
      const end = () => {
        if (ended) return
        ended = true
        streams.delete(end)
        sub.destroy()
        res.end()
        changed()
      }
      sub.on('error', end)
      sub.on('end', end)
      await sub.connect()
      streams.add(end)
      changed()
      res.on('close', end)
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      })
      for (const [i, target] of targets.entries()) {
        if (!target) continue
        if (pattern) {
          await sub.pSubscribe(target, (message, channel) => {
            res.write(`data: pmessage,${target},${channel},${message}\n\n`)
          })
        } else {
          await sub.subscribe(target, (message, channel) => {
            res.write(`data: message,${channel},${message}\n\n`)
          })
        }
        if (ended) return
        res.write(`data: ${kind},${target},${i + 1}\n\n`)
      }
    },
    close() {
      for (const end of [...streams]) end()
    },
  }
}
