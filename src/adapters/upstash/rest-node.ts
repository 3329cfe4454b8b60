/**
 * Upstash REST on Node through an undici keep-alive connection pool (`undici.request`) instead of
 * the global `fetch` the SDK uses (WHATWG streams and Request/Response objects per call: several
 * times the CPU per request on Node). Same protocol, same replies and error texts as the SDK's
 * HTTP client: bearer token, JSON bodies, HTTP 4xx/5xx → `UpstashError("<error>, command was:
 * [...]")`, network errors retried (`retries`, 50 ms · 2^n backoff) then thrown, auto-pipelining
 * on. Replies are requested without `Upstash-Encoding: base64` (the server sends UTF-8 text;
 * invalid UTF-8 becomes U+FFFD either way). Workers keep the SDK's fetch client (client.ts).
 */
import { errors, type Requester, type UpstashRequest } from '@upstash/redis'
import { Pool } from 'undici'
import type { Redis, UpstashRedisConfig } from './client.ts'
import { redisOnRequester } from './requester-redis.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

class UndiciRequester implements Requester {
  readonly #pool: Pool
  readonly #base: string
  readonly #auth: string
  readonly #retries: number

  constructor(pool: Pool, url: URL, token: string, retries: number) {
    this.#pool = pool
    this.#base = url.pathname.replace(/\/+$/, '')
    this.#auth = `Bearer ${token}`
    this.#retries = retries
  }

  async request<TResult = unknown>(req: UpstashRequest): Promise<{ result?: TResult }> {
    const path = `${this.#base}/${req.path?.join('/') ?? ''}`
    const body = JSON.stringify(req.body)
    let res: Awaited<ReturnType<Pool['request']>> | undefined
    for (let attempt = 0; ; attempt++) {
      try {
        res = await this.#pool.request({
          path,
          method: 'POST',
          headers: { authorization: this.#auth, 'content-type': 'application/json' },
          body,
        })
        break
      } catch (e) {
        if (attempt >= this.#retries) throw e
        await sleep(50 * 2 ** attempt)
      }
    }
    const text = await res.body.text()
    let parsed: { error?: string }
    try {
      parsed = JSON.parse(text)
    } catch (e) {
      throw new errors.UpstashJSONParseError(text, { cause: e })
    }
    if (res.statusCode >= 300) {
      throw new errors.UpstashError(`${parsed.error}, command was: ${JSON.stringify(req.body)}`)
    }
    return parsed as { result?: TResult }
  }
}

export interface NodeRestRedis {
  redis: Redis
  raw: Redis
  close(): Promise<void>
}

/** Both REST clients (deserializing and raw) on one keep-alive pool to the REST endpoint. */
export function createNodeRestRedis(config: UpstashRedisConfig): NodeRestRedis {
  const url = new URL(config.url)
  const pool = new Pool(url.origin, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 })
  const requester = new UndiciRequester(pool, url, config.token, config.retries ?? 2)
  return {
    redis: redisOnRequester(requester, { automaticDeserialization: true, autoPipeline: true }),
    raw: redisOnRequester(requester, { automaticDeserialization: false, autoPipeline: true }),
    close: () => pool.close(),
  }
}
