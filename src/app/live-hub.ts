/**
 * The live hub Durable Object of the Worker (binding LIVE_HUB, class LiveHub in wrangler.toml):
 * one instance per shard (LIVE_HUB_SHARDS, channels hashed onto them) holds ONE Upstash streaming
 * psubscribe — the same firehose and BroadcastHub the Node process uses — and fans each channel's
 * messages out to every Worker request streaming it. The Worker authenticates and authorizes the
 * SSE request, then streams the channel from here (DurableObjectBroadcast).
 */
import { serveLiveHub } from '../adapters/durable-objects/live-hub.ts'
import type { BroadcastHub } from '../adapters/pubsub/hub.ts'
import { upstashBroadcast } from '../adapters/upstash/broadcast.ts'
import { createUpstashRedis } from '../adapters/upstash/client.ts'
import { ConfigError, loadConfig } from './config.ts'

export class LiveHub {
  readonly #env: Record<string, unknown>
  #hub: BroadcastHub | undefined

  constructor(_state: unknown, env: Record<string, unknown>) {
    this.#env = env
  }

  fetch(request: Request): Promise<Response> {
    return serveLiveHub(request, () => {
      if (this.#hub) return this.#hub
      const config = loadConfig(this.#env)
      if (!config.redis) throw new ConfigError(['the live hub needs UPSTASH_REDIS_REST_*'])
      this.#hub = upstashBroadcast(
        createUpstashRedis(config.redis),
        config.redis,
        config.redisKeyPrefix
      )
      return this.#hub
    })
  }
}
