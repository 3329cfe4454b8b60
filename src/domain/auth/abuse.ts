import { DomainError } from '../errors.ts'
import type { WindowLimiter, WindowTier } from '../ports/window-limiter.ts'
import { describeTier } from './auth.ts'

/**
 * Limits that keep login from being abused beyond one phone: per client (address) and across the
 * whole deployment, on code sends (each one is an SMS we pay for) and on failed logins (guessing).
 * Every list is checked together; an empty list is off.
 */
export interface LoginAbusePolicy {
  codeSendsPerClient: readonly WindowTier[]
  codeSendsGlobal: readonly WindowTier[]
  failedLoginsPerClient: readonly WindowTier[]
  failedLoginsGlobal: readonly WindowTier[]
}

export interface AbuseDeps {
  limiter: WindowLimiter
  policy: LoginAbusePolicy
}

type Scope = 'client' | 'global'

function refuse(scope: Scope, what: string, tier: WindowTier, retryAfterMs: number): DomainError {
  const who = scope === 'client' ? 'from this client' : 'on this service'
  return new DomainError('RATE_LIMITED', `too many ${what} ${who} (${describeTier(tier)})`, {
    retryAfterMs,
    scope,
    tier: describeTier(tier),
  })
}

async function check(
  deps: AbuseDeps,
  mode: 'hit' | 'peek',
  key: string,
  tiers: readonly WindowTier[],
  scope: Scope,
  what: string
): Promise<void> {
  if (tiers.length === 0) return
  const verdict = await deps.limiter[mode](key, tiers)
  if (!verdict.allowed) throw refuse(scope, what, tiers[verdict.tier]!, verdict.retryAfterMs)
}

/**
 * Charges one code send to the client and then to the global budget (call it once the phone's own
 * throttle has passed, right before sending). Throws RATE_LIMITED (`scope`, `retryAfterMs`).
 */
export async function chargeCodeSend(deps: AbuseDeps, client: string): Promise<void> {
  const { policy } = deps
  await check(deps, 'hit', `code-client:${client}`, policy.codeSendsPerClient, 'client', 'codes')
  await check(deps, 'hit', 'code-global', policy.codeSendsGlobal, 'global', 'codes')
}

/** Refuses a login attempt from a client (or while the service) over its failed-login budget. */
export async function guardLogin(deps: AbuseDeps, client: string): Promise<void> {
  const { policy } = deps
  await Promise.all([
    check(
      deps,
      'peek',
      `login-fail:${client}`,
      policy.failedLoginsPerClient,
      'client',
      'failed logins'
    ),
    check(deps, 'peek', 'login-fail-global', policy.failedLoginsGlobal, 'global', 'failed logins'),
  ])
}

/** Counts one failed login against the client and the global budget. */
export async function recordLoginFailure(deps: AbuseDeps, client: string): Promise<void> {
  const { policy, limiter } = deps
  await Promise.all([
    policy.failedLoginsPerClient.length > 0 &&
      limiter.hit(`login-fail:${client}`, policy.failedLoginsPerClient),
    policy.failedLoginsGlobal.length > 0 &&
      limiter.hit('login-fail-global', policy.failedLoginsGlobal),
  ])
}
