/**
 * The live hub Durable Object of the Worker (binding LIVE_HUB, class LiveHub in wrangler.toml):
 * one instance per shard (LIVE_HUB_SHARDS, channels hashed onto them) holds ONE Upstash streaming
 * psubscribe — the same firehose and BroadcastHub the Node process uses — and fans each channel's
 * messages out to every Worker request streaming it. The Worker authenticates and authorizes the
 * SSE request, then streams the channel from here (DurableObjectBroadcast). Wiring: deps.ts.
 */
import { liveHubHandler } from './deps.ts'

export class LiveHub {
  readonly #serve: (request: Request) => Promise<Response>

  constructor(_state: unknown, env: Record<string, unknown>) {
    this.#serve = liveHubHandler(env)
  }

  fetch(request: Request): Promise<Response> {
    return this.#serve(request)
  }
}
