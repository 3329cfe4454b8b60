export type CodeCheck =
  | { ok: true }
  /** Wrong, expired, already used or never sent; `attemptsLeft` before the phone is locked. */
  | { ok: false; reason: 'invalid'; attemptsLeft: number }
  /** Too many wrong codes: no login for this phone until `retryAfterMs` from now. */
  | { ok: false; reason: 'locked'; retryAfterMs: number }

export interface CodePolicy {
  /** Wrong codes allowed before the lock (the failure that reaches it locks). */
  maxFailures: number
  /** How long a lock lasts, in ms; failures are also forgotten after this long. */
  lockMs: number
}

/** One-time login codes per phone, with an attempt limit. */
export interface LoginCodes {
  /** Stores `code` for `phone` (replacing any earlier one), valid for `ttlMs`. */
  issue(phone: string, code: string, ttlMs: number): Promise<void>
  /**
   * Checks `code` and, if it matches, consumes it — check and consume are one atomic step, so a
   * code works once even under concurrent attempts. A mismatch while a code is issued counts a
   * failure (with no live code nothing counts, so nobody can lock out a phone that has no code);
   * reaching `maxFailures` locks the phone for `lockMs` and discards its code. Safe against a
   * retried call: an adapter whose transport may resend a call returns the first outcome.
   */
  verify(phone: string, code: string, policy: CodePolicy): Promise<CodeCheck>
}
