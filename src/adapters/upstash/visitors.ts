import type { VisitorCounter } from '../../domain/ports/visitors.ts'
import { type Redis, redisCall } from './client.ts'
import { chunks } from './text.ts'

/** Members per PFADD command: big batches are split, and sent in one pipeline. */
const PFADD_MAX = 1000

/** Days of history kept (each day's key expires this long after its last visit). */
const RETENTION_SECONDS = 400 * 86_400

/**
 * One HyperLogLog per day, `<prefix>uv:{uv}:<yyyyMMdd>`: PFADD (1,000 members per command) + EXPIRE,
 * one pipeline per call, to record; PFCOUNT per day and
 * one PFCOUNT over all the days' keys (Redis merges them: the union) to count, pipelined. The
 * `{uv}` hash tag keeps every day in one slot, so the multi-key PFCOUNT also works on a Redis
 * Cluster (a few KB per day; the traffic is one PFADD per page view batch).
 */
export class UpstashVisitorCounter implements VisitorCounter {
  readonly #redis: Redis
  readonly #prefix: string

  constructor(redis: Redis, prefix = '') {
    this.#redis = redis
    this.#prefix = prefix
  }

  #key(day: string): string {
    return `${this.#prefix}uv:{uv}:${day}`
  }

  async record(day: string, visitors: readonly string[]): Promise<void> {
    if (visitors.length === 0) return
    const key = this.#key(day)
    const p = this.#redis.pipeline()
    for (const [first, ...rest] of chunks(visitors, PFADD_MAX)) p.pfadd(key, first!, ...rest)
    p.expire(key, RETENTION_SECONDS)
    await redisCall(() => p.exec())
  }

  async count(days: readonly string[]): Promise<{ perDay: number[]; union: number }> {
    if (days.length === 0) return { perDay: [], union: 0 }
    const keys = days.map((d) => this.#key(d))
    const p = this.#redis.pipeline()
    for (const key of keys) p.pfcount(key)
    p.pfcount(keys[0]!, ...keys.slice(1))
    const counts = await redisCall(() => p.exec<number[]>())
    return { perDay: counts.slice(0, days.length), union: counts[days.length] ?? 0 }
  }
}
