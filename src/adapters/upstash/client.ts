import { Redis } from '@upstash/redis/cloudflare'
import { DependencyUnavailable } from '../../domain/errors.ts'

export type { Redis }

export interface UpstashRedisConfig {
  /** UPSTASH_REDIS_REST_URL */
  url: string
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string
  /**
   * Network retries per request (the SDK default of 5 spends ~4 s before failing; a request path
   * should fail fast and answer 503). Default 2, with 50 ms / 100 ms backoff.
   */
  retries?: number
  /**
   * Return replies as Redis sent them (strings stay strings) instead of JSON-parsing every string
   * reply (the SDK default, which turns a member '12345678901234567890' into a lossy number).
   */
  rawReplies?: boolean
}

/**
 * The REST client used by every Upstash adapter. One instance per isolate is fine: it is stateless
 * HTTP. Auto-pipelining stays on (commands issued in the same tick share one HTTP request).
 */
export function createUpstashRedis(config: UpstashRedisConfig): Redis {
  const retries = config.retries ?? 2
  return new Redis({
    url: config.url,
    token: config.token,
    enableTelemetry: false,
    automaticDeserialization: !config.rawReplies,
    retry: retries > 0 ? { retries, backoff: (n) => 50 * 2 ** n } : false,
  })
}

const REDIS_REPLY_ERROR = /\b(ERR|WRONGTYPE|NOSCRIPT|EXECABORT|OOM|NOPERM|BUSY|CROSSSLOT)\b/

/**
 * Runs one Redis interaction and turns transport failures (network, gateway 5xx, timeouts) into
 * `DependencyUnavailable('redis')`, so callers answer 503. Errors Redis itself returned for the
 * command (a bug on our side) propagate unchanged.
 */
export async function redisCall<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    if (e instanceof Error && e.name === 'UpstashError' && REDIS_REPLY_ERROR.test(message)) throw e
    throw new DependencyUnavailable('redis', e)
  }
}
