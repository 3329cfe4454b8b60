import type { Firehose } from '../pubsub/hub.ts'
import { BroadcastHub } from '../pubsub/hub.ts'
import { readLines } from '../pubsub/lines.ts'
import { type Redis, redisCall, type UpstashRedisConfig } from './client.ts'

/**
 * The firehose over Upstash's REST streaming subscribe: ONE `POST /psubscribe/<prefix>ev:*`
 * (Server-Sent Events) per isolate carries every channel of this app; PUBLISH is a normal command.
 *
 * We read the stream ourselves rather than through `redis.psubscribe()`: the SDK's Subscriber
 * resolves before the subscription is confirmed and never reports the end of the stream (its read
 * loop swallows it), and the hub needs both (subscribe-then-read, reset on loss). The wire format
 * is the SDK's: `data: psubscribe,<pattern>,<count>` once subscribed, then
 * `data: pmessage,<pattern>,<channel>,<message>` per message.
 *
 * A TCP transport backs the same hub with `PSUBSCRIBE <prefix>ev:*` on a dedicated connection:
 * resolve `connect` on the psubscribe reply, resolve `closed` on the connection's end/error.
 */
export class UpstashFirehose implements Firehose {
  readonly #redis: Redis
  readonly #config: UpstashRedisConfig
  readonly #prefix: string

  constructor(redis: Redis, config: UpstashRedisConfig, keyPrefix: string) {
    this.#redis = redis
    this.#config = config
    this.#prefix = `${keyPrefix}ev:`
  }

  publish(channel: string, message: string): Promise<void> {
    return redisCall(async () => void (await this.#redis.publish(this.#prefix + channel, message)))
  }

  async connect(onMessage: (channel: string, message: string) => void, signal: AbortSignal) {
    const pattern = `${this.#prefix}*`
    const open = () =>
      fetch(`${this.#config.url.replace(/\/$/, '')}/psubscribe/${pattern}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.#config.token}`,
          accept: 'text/event-stream',
          'content-type': 'application/json',
        },
        body: '[]',
        signal,
      })
    // One retry: a pooled keep-alive socket the server already closed fails at once.
    const res = await open().catch((e) => (signal.aborted ? Promise.reject(e) : open()))
    if (!res.ok || !res.body) {
      await res.body?.cancel()
      throw new Error(`psubscribe answered HTTP ${res.status}`)
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    const head = `pmessage,${pattern},`
    let confirm!: (ok: boolean) => void
    const confirmed = new Promise<boolean>((resolve) => {
      confirm = resolve
    })
    const line = (text: string) => {
      if (!text.startsWith('data: ')) return
      const data = text.slice(6)
      if (data.startsWith(head)) {
        const rest = data.slice(head.length)
        const comma = rest.indexOf(',')
        const channel = rest.slice(0, comma)
        if (comma > 0 && channel.startsWith(this.#prefix)) {
          onMessage(channel.slice(this.#prefix.length), rest.slice(comma + 1))
        }
      } else if (data.startsWith(`psubscribe,${pattern},`)) confirm(true)
    }
    const closed = (async () => {
      try {
        await readLines(reader, line)
      } catch {
        // aborted or the connection broke: either way the subscription is over
      } finally {
        confirm(false)
        await reader.cancel().catch(() => {})
      }
    })()
    if (!(await confirmed)) throw new Error('the subscribe stream ended before it was confirmed')
    return { closed }
  }
}

/** The Upstash Broadcast: the shared hub over one streaming psubscribe. */
export function upstashBroadcast(redis: Redis, config: UpstashRedisConfig, keyPrefix: string) {
  return new BroadcastHub(new UpstashFirehose(redis, config, keyPrefix))
}
