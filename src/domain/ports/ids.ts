/**
 * Identifiers and secrets.
 */
export interface Ids {
  /**
   * Next globally unique, roughly time-ordered id for `kind` (e.g. 'order'): the seconds since
   * 2022-01-01T00:00:00Z in the high bits and a per-UTC-day sequence in the low 32 bits. Returned as
   * a decimal string because it exceeds 2^53 (JSON numbers would lose precision).
   */
  next(kind: string): Promise<string>
  /** A fresh secret from a CSPRNG: 128 bits (16 bytes) unless told otherwise, base64url, no padding. */
  token(bytes?: number): string
  /** A uniformly random string of `digits` decimal digits from a CSPRNG (e.g. a login code). */
  digits(digits: number): string
}
