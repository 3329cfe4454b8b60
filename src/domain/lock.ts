import { DomainError } from './errors.ts'
import type { Clock } from './ports/clock.ts'
import type { Ids } from './ports/ids.ts'
import type { Lock } from './ports/lock.ts'

export interface AcquireOptions {
  /** Lease length in ms. */
  ttlMs: number
  /** How long to keep retrying while someone else holds the lease, in ms. 0 = one attempt. */
  waitMs?: number
  /** Pause between attempts in ms (shortened when the holder's lease ends sooner). Default 50. */
  retryMs?: number
}

/**
 * Acquires `name` for `owner`, retrying until `waitMs` of clock time has passed. Returns false when
 * the wait runs out; the caller decides the fallback (this function never throws for contention).
 */
export async function acquireLock(
  deps: { lock: Lock; clock: Clock },
  name: string,
  owner: string,
  opts: AcquireOptions
): Promise<boolean> {
  const retryMs = opts.retryMs ?? 50
  const deadline = deps.clock.now() + (opts.waitMs ?? 0)
  for (;;) {
    const attempt = await deps.lock.tryAcquire(name, owner, opts.ttlMs)
    if (attempt.acquired) return true
    const left = deadline - deps.clock.now()
    if (left <= 0) return false
    await deps.clock.sleep(Math.max(1, Math.min(retryMs, left, attempt.retryAfterMs)))
  }
}

export interface WithLockOptions extends AcquireOptions {
  /** Owner token; a fresh CSPRNG token by default. Pass the same owner to re-enter. */
  owner?: string
}

/**
 * Runs `work` while holding `name`. A watchdog extends the lease every ttl/3 so long work keeps it;
 * if an extension fails (the lease was lost, e.g. after a long pause), `signal` aborts so the work
 * can stop writing. The lease is released afterwards, by its owner only. Throws
 * `DomainError('LOCK_TIMEOUT')` when the lease cannot be had within `waitMs`.
 */
export async function withLock<T>(
  deps: { lock: Lock; clock: Clock; ids: Ids },
  name: string,
  opts: WithLockOptions,
  work: (signal: AbortSignal) => Promise<T>
): Promise<T> {
  const owner = opts.owner ?? deps.ids.token()
  if (!(await acquireLock(deps, name, owner, opts))) {
    throw new DomainError('LOCK_TIMEOUT', `lock ${name} is busy`, { lock: name })
  }
  const done = new AbortController()
  const lost = new AbortController()
  const watchdog = (async () => {
    const every = Math.max(1, Math.floor(opts.ttlMs / 3))
    for (;;) {
      await deps.clock.sleep(every, done.signal)
      if (done.signal.aborted) return
      const kept = await deps.lock.extend(name, owner, opts.ttlMs).catch(() => false)
      if (!kept) {
        lost.abort(new DomainError('LOCK_TIMEOUT', `lease on ${name} was lost`, { lock: name }))
        return
      }
    }
  })()
  try {
    return await work(lost.signal)
  } finally {
    done.abort()
    await watchdog
    await deps.lock.release(name, owner).catch(() => 'not-owner' as const)
  }
}
