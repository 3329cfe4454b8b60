/**
 * Node on every core: with external Redis and Postgres, `npm start` runs a `node:cluster` primary
 * that forks WEB_CONCURRENCY workers (default: the number of cores), each a full server sharing the
 * listening port (the primary hands out connections round-robin). The embedded default stays one
 * process: its in-memory Redis, queue and PGlite would otherwise be one copy per worker.
 *
 * Periodic jobs run in every worker (each is safe to run concurrently with itself, see jobs.ts).
 * A worker that dies unexpectedly is replaced (at most once per second); SIGINT/SIGTERM on the
 * primary are passed to the workers, and the primary exits when they have.
 */
import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'

/** How many processes should serve, from the environment (1 = no cluster). */
export function workerCount(env: Record<string, string | undefined>): number {
  const redis = Boolean(env.REDIS_URL || env.UPSTASH_REDIS_REST_URL)
  if (!redis || !env.DATABASE_URL) return 1
  const n = env.WEB_CONCURRENCY ? Number(env.WEB_CONCURRENCY) : availableParallelism()
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 64) : 1
}

/**
 * In the primary of a multi-worker setup: forks the workers and supervises them; returns true
 * (the caller must not start a server). Everywhere else returns false (start the server).
 */
export function startCluster(env: Record<string, string | undefined>): boolean {
  const n = workerCount(env)
  if (n <= 1 || !cluster.isPrimary) return false
  let stopping = false
  let lastRestart = 0
  for (let i = 0; i < n; i++) cluster.fork()
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
      return
    }
    console.error(JSON.stringify({ msg: 'worker exited', pid: worker.process.pid, code, signal }))
    const wait = Math.max(0, lastRestart + 1000 - Date.now())
    lastRestart = Date.now() + wait
    setTimeout(() => !stopping && cluster.fork(), wait)
  })
  const stop = () => {
    stopping = true
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM')
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return true
}
