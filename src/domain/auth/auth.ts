import { DomainError } from '../errors.ts'
import type { Clock } from '../ports/clock.ts'
import type { CodeSender } from '../ports/code-sender.ts'
import type { Ids } from '../ports/ids.ts'
import type { CodePolicy, LoginCodes } from '../ports/login-codes.ts'
import type { Session, SessionStore } from '../ports/session.ts'
import type { User, UserRepository } from '../ports/users.ts'
import type { WindowLimiter, WindowTier } from '../ports/window-limiter.ts'
import { normalizePhone } from './phone.ts'

export interface AuthPolicy {
  /** Login code length and lifetime. */
  codeDigits: number
  codeTtlMs: number
  /** Code-send throttle per phone, checked together; empty = off. */
  sendTiers: readonly WindowTier[]
  /** Wrong-code limit and lock length. */
  login: CodePolicy
  session: {
    ttlMs: number
    /** Renew once this fraction of the TTL has elapsed since the last renewal (0..1). */
    renewAfterFraction: number
    /** Renewals allowed per session; after that it runs out and the user logs in again. */
    maxRenewals: number
  }
}

export interface AuthDeps {
  clock: Clock
  ids: Ids
  users: UserRepository
  sessions: SessionStore
  codes: LoginCodes
  limiter: WindowLimiter
  sender: CodeSender
  policy: AuthPolicy
}

/** Session tokens are 128-bit base64url strings; anything else is not worth a lookup. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}$/

function phoneOrThrow(raw: string): string {
  const phone = normalizePhone(raw)
  if (!phone)
    throw new DomainError('VALIDATION_FAILED', 'not a valid phone number', { field: 'phone' })
  return phone
}

/** Human form of a tier for error messages: "1 per 60s". */
export function describeTier(tier: WindowTier): string {
  return `${tier.max} per ${Math.round(tier.windowMs / 1000)}s`
}

/**
 * Sends a fresh one-time login code to `rawPhone`, unless a send tier refuses it
 * (DomainError RATE_LIMITED with `retryAfterMs` and the refusing `tier`). `beforeSend` runs once
 * the phone's throttle has passed, right before the code is sent (e.g. client/global budgets,
 * see abuse.ts); it refuses by throwing, which takes the phone's charge back like a failed send.
 *
 * Order and compensation: the throttle is charged first (so concurrent requests cannot slip past
 * it), then the code is sent, and only once the provider accepted it is it stored. When the send
 * fails, nothing is stored (an earlier code stays valid) and the phone's throttle charge is taken
 * back, so the user may retry at once; the sender's error (503) propagates.
 */
export async function requestCode(
  deps: AuthDeps,
  rawPhone: string,
  beforeSend?: () => Promise<void>
) {
  const phone = phoneOrThrow(rawPhone)
  const { policy } = deps
  const throttleKey = `code:${phone}`
  await chargeSendThrottle(deps, throttleKey)
  const code = deps.ids.digits(policy.codeDigits)
  try {
    await beforeSend?.()
    await deps.sender.send(phone, code)
    await deps.codes.issue(phone, code, policy.codeTtlMs)
  } catch (e) {
    if (policy.sendTiers.length > 0) await deps.limiter.undoLast(throttleKey).catch(() => {})
    throw e
  }
  return { phone, code, expiresInMs: policy.codeTtlMs }
}

/** Records one code send for `key`, or throws RATE_LIMITED naming the refusing tier. */
async function chargeSendThrottle(deps: AuthDeps, key: string): Promise<void> {
  const tiers = deps.policy.sendTiers
  if (tiers.length === 0) return
  const verdict = await deps.limiter.hit(key, tiers)
  if (verdict.allowed) return
  const tier = tiers[verdict.tier]!
  throw new DomainError('RATE_LIMITED', `too many codes for this phone (${describeTier(tier)})`, {
    retryAfterMs: verdict.retryAfterMs,
    tier: describeTier(tier),
  })
}

/**
 * Exchanges a phone + code for a session, creating the user on first login. The code is checked
 * and consumed atomically; wrong codes count towards a lock.
 */
export async function login(
  deps: AuthDeps,
  rawPhone: string,
  code: string
): Promise<{ session: Session; user: User; created: boolean }> {
  const phone = phoneOrThrow(rawPhone)
  const check = await deps.codes.verify(phone, code, deps.policy.login)
  if (!check.ok) {
    if (check.reason === 'locked') {
      throw new DomainError('LOGIN_LOCKED', 'too many wrong codes: login is locked for a while', {
        retryAfterMs: check.retryAfterMs,
      })
    }
    throw new DomainError('INVALID_CODE', 'wrong, expired or already used code', {
      attemptsLeft: check.attemptsLeft,
    })
  }
  const { user, created } = await deps.users.findOrCreateByPhone(phone, `user_${deps.ids.token(6)}`)
  const snapshot = { id: user.id, nickname: user.nickname, icon: user.icon }
  const session = await deps.sessions.create(deps.ids.token(), snapshot, deps.policy.session.ttlMs)
  return { session, user, created }
}

/** The live session behind `token`, without renewing it (one store read). */
export async function readSession(
  deps: Pick<AuthDeps, 'sessions'>,
  token: string
): Promise<Session | null> {
  return TOKEN_SHAPE.test(token) ? deps.sessions.get(token) : null
}

/**
 * Renews `session` when due: at least `renewAfterFraction` of the TTL has passed since the last
 * renewal and the cap is not reached. Costs nothing when not due; otherwise one atomic store call
 * (which re-checks, so concurrent requests renew once). Returns the session as it now stands, or
 * null when it vanished meanwhile.
 */
export async function renewIfDue(
  deps: Pick<AuthDeps, 'sessions' | 'clock' | 'policy'>,
  session: Session
): Promise<Session | null> {
  const { ttlMs, renewAfterFraction, maxRenewals } = deps.policy.session
  const minElapsedMs = Math.floor(ttlMs * renewAfterFraction)
  const now = deps.clock.now()
  if (now - session.renewedAt < minElapsedMs || session.renewals >= maxRenewals) return session
  const outcome = await deps.sessions.renew(session.token, ttlMs, minElapsedMs, maxRenewals)
  if (outcome === 'missing') return null
  if (outcome !== 'renewed') return session
  return { ...session, renewedAt: now, expiresAt: now + ttlMs, renewals: session.renewals + 1 }
}

/**
 * The live session behind `token`, renewed when due. A request that does not renew costs one
 * store read; only a due renewal adds a second.
 */
export async function authenticate(deps: AuthDeps, token: string): Promise<Session | null> {
  const session = await readSession(deps, token)
  return session && renewIfDue(deps, session)
}

/** Ends the session (idempotent). */
export async function logout(deps: Pick<AuthDeps, 'sessions'>, token: string): Promise<void> {
  await deps.sessions.revoke(token)
}
