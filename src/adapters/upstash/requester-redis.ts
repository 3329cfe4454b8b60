/**
 * `@upstash/redis`'s `Redis` on a custom requester (Node transports: ./tcp.ts, ./rest-node.ts),
 * with the options its requester constructor does not take: reply deserialization, telemetry off,
 * and (REST only) auto-pipelining. Node-only: imports the SDK's Node entry.
 */
import { Redis as NodeRedis, type Requester } from '@upstash/redis'
import type { Redis } from './client.ts'

class RequesterRedis extends NodeRedis {
  constructor(requester: Requester, automaticDeserialization: boolean) {
    super(requester)
    this.opts = { automaticDeserialization }
    this.enableTelemetry = false
  }

  /** The auto-pipelining proxy (commands issued in the same tick share one request). */
  pipelined(): Redis {
    return this.autoPipeline() as Redis
  }
}

export function redisOnRequester(
  requester: Requester,
  options: { automaticDeserialization: boolean; autoPipeline: boolean }
): Redis {
  const redis = new RequesterRedis(requester, options.automaticDeserialization)
  return options.autoPipeline ? redis.pipelined() : (redis as Redis)
}
