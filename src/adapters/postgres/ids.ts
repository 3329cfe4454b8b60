const MAX_INT8 = 9_223_372_036_854_775_807n
/** Canonical decimal of a positive integer: anything else names no row. */
const CANONICAL_ID = /^[1-9][0-9]{0,18}$/

/** The int8 key of a domain id, or null when the id cannot name a row. */
export function idKey(id: string): bigint | null {
  if (!CANONICAL_ID.test(id)) return null
  const key = BigInt(id)
  return key <= MAX_INT8 ? key : null
}

/** The keys of the ids that can name rows (others are dropped). */
export function idKeys(ids: readonly string[]): bigint[] {
  return ids.map(idKey).filter((k): k is bigint => k !== null)
}

/** The Postgres error (SQLSTATE `code`, `constraint`) somewhere in `e`'s cause chain, if any. */
export function pgError(e: unknown): { code: string; constraint: string | undefined } | null {
  for (let err: unknown = e; err; err = (err as { cause?: unknown }).cause) {
    const { code, constraint } = err as { code?: unknown; constraint?: unknown }
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      return { code, constraint: typeof constraint === 'string' ? constraint : undefined }
    }
  }
  return null
}
