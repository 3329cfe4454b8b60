/**
 * The `Upstash-Signature` check of a QStash delivery, on Web Crypto only (Workers, Node, Deno,
 * Bun): the checks of `@upstash/qstash`'s `Receiver.verify` (jose `jwtVerify` + a SHA-256 body
 * digest) without its per-request costs — the Receiver imports the HMAC key again on every call
 * (and for the next key after a miss), decodes and re-checks the claims once per key, and reads
 * `process.env` (QSTASH_DEV, region variables) each time. Here the keys are imported once, the
 * token is parsed once, and the MAC and the body digest run concurrently.
 *
 * Accepted iff, as in the Receiver with `clockTolerance`:
 *  - the token is three base64url segments; the header a JSON object with `alg: "HS256"` (QStash
 *    signs nothing else; the Receiver also takes HS384/HS512) and no `crit`;
 *  - the HMAC-SHA-256 of `header.payload` verifies (`crypto.subtle.verify`: the platform's
 *    constant-time compare) under the current key or, failing that, the next key;
 *  - the payload is a JSON object with `iss === "Upstash"`, `sub` equal to the delivery URL, a
 *    numeric `exp` later than now − tolerance (the Receiver takes a token without `exp`; QStash
 *    always sets it), `nbf` (when present) numeric and not after now + tolerance, `iat` (when
 *    present) numeric;
 *  - `body` equals base64url(SHA-256(UTF-8 body)), trailing `=` ignored (compared without an early
 *    exit).
 * Anything else — garbage, `alg: none`, a wrong key, a tampered body or URL — is `false`, never
 * an exception. The configured keys are the only ones: unlike the Receiver without `devMode:
 * false`, a QSTASH_DEV variable in the environment cannot switch it to QStash's public dev keys.
 */

export interface SignatureCheck {
  signature: string
  body: string
  url: string
}

/**
 * Synchronous SHA-256 / HMAC-SHA-256 where the platform has them (`node:crypto`: node-hashing.ts),
 * used instead of Web Crypto; both give the same answers (test/qstash-signature.test.ts).
 */
export interface SyncHashing {
  /** base64url (no padding) of SHA-256 over the UTF-8 bytes of `text`. */
  sha256Base64url(text: string): string
  /** HMAC-SHA-256(UTF-8 `key`, UTF-8 `data`) equals `mac`, compared in constant time. */
  hmacSha256Equals(key: string, data: string, mac: Uint8Array): boolean
}

export interface QStashSignatureOptions {
  /** Hash synchronously with these instead of Web Crypto (Node, Bun, Deno). */
  hashing?: SyncHashing
  /** Seconds of clock skew allowed on `exp` and `nbf` (the Receiver's `clockTolerance`). */
  clockToleranceSeconds?: number
  /** Wall clock, ms since the epoch. */
  now?: () => number
}

const utf8 = new TextEncoder()
const HMAC = { name: 'HMAC', hash: 'SHA-256' } as const
const SEGMENT = /^[A-Za-z0-9_-]+$/
const DIGEST_CLAIM = /^[A-Za-z0-9_-]{43}=*$/

export class QStashSignature {
  readonly #keys: readonly string[]
  readonly #imported: (Promise<CryptoKey> | undefined)[]
  readonly #tolerance: number
  readonly #now: () => number
  readonly #hashing: SyncHashing | undefined

  /** `keys`: the current signing key, then the next one. */
  constructor(keys: readonly string[], options: QStashSignatureOptions = {}) {
    this.#keys = keys.filter((k) => k !== '')
    this.#imported = this.#keys.map(() => undefined)
    this.#tolerance = options.clockToleranceSeconds ?? 5
    this.#now = options.now ?? Date.now
    this.#hashing = options.hashing
  }

  async verify(input: SignatureCheck): Promise<boolean> {
    try {
      return await this.#verify(input)
    } catch {
      return false
    }
  }

  async #verify({ signature, body, url }: SignatureCheck): Promise<boolean> {
    const parts = signature.split('.')
    if (parts.length !== 3 || this.#keys.length === 0) return false
    const [head, claims, mac] = parts as [string, string, string]
    if (!SEGMENT.test(head) || !SEGMENT.test(claims) || !SEGMENT.test(mac)) return false
    const header = jsonObject(head)
    if (header?.alg !== 'HS256' || 'crit' in header) return false
    const payload = jsonObject(claims)
    if (!payload || !this.#claimsValid(payload, url)) return false
    const expected = typeof payload.body === 'string' ? payload.body : ''
    if (!DIGEST_CLAIM.test(expected)) return false
    const macBytes = fromBase64url(mac)
    const hashing = this.#hashing
    if (hashing) {
      const signedText = `${head}.${claims}`
      if (!this.#keys.some((key) => hashing.hmacSha256Equals(key, signedText, macBytes))) {
        return false
      }
      return sameText(hashing.sha256Base64url(body), expected.replace(/=+$/, ''))
    }
    const signed = utf8.encode(`${head}.${claims}`)
    const [digest, keyIndex] = await Promise.all([
      crypto.subtle.digest('SHA-256', utf8.encode(body)),
      this.#signedBy(macBytes, signed),
    ])
    if (keyIndex < 0) return false
    return sameText(toBase64url(new Uint8Array(digest)), expected.replace(/=+$/, ''))
  }

  /** iss, sub, exp, nbf, iat as jose's jwtVerify checks them (issuer + clockTolerance). */
  #claimsValid(p: Record<string, unknown>, url: string): boolean {
    const now = Math.floor(this.#now() / 1000)
    if (p.iss !== 'Upstash' || p.sub !== url) return false
    if (p.iat !== undefined && typeof p.iat !== 'number') return false
    if (p.nbf !== undefined && (typeof p.nbf !== 'number' || p.nbf > now + this.#tolerance)) {
      return false
    }
    return typeof p.exp === 'number' && p.exp > now - this.#tolerance
  }

  /** The index of the first key whose HMAC of `signed` is `mac`, else -1. */
  async #signedBy(mac: Uint8Array<ArrayBuffer>, signed: Uint8Array<ArrayBuffer>): Promise<number> {
    for (let i = 0; i < this.#keys.length; i++) {
      if (await crypto.subtle.verify('HMAC', await this.#key(i), mac, signed)) return i
    }
    return -1
  }

  #key(i: number): Promise<CryptoKey> {
    let key = this.#imported[i]
    if (!key) {
      key = crypto.subtle.importKey('raw', utf8.encode(this.#keys[i]!), HMAC, false, ['verify'])
      // A failed import is not cached: the next delivery tries again.
      key.catch(() => {
        if (this.#imported[i] === key) this.#imported[i] = undefined
      })
      this.#imported[i] = key
    }
    return key
  }
}

function jsonObject(segment: string): Record<string, unknown> | null {
  const value: unknown = JSON.parse(
    new TextDecoder('utf-8', { fatal: true }).decode(fromBase64url(segment))
  )
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null
}

/** base64url (no padding, alphabet already checked) → bytes. */
function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'))
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

function toBase64url(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** Equal length and characters, without an early exit. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}
