/** Web Crypto helpers for request signing (crypto.subtle: Workers, Node, Deno and Bun alike). */

const utf8 = new TextEncoder()

/** How long an SMS provider may take before the send counts as failed, in ms. */
export const SMS_TIMEOUT_MS = 5_000

/** Lowercase hex of bytes. */
export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Hex SHA-256 of a UTF-8 string. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', utf8.encode(text)))
}

/** HMAC-SHA256 of the UTF-8 `message` under `key` (a string's UTF-8 bytes, or raw bytes). */
export async function hmacSha256(
  key: string | Uint8Array<ArrayBuffer>,
  message: string
): Promise<ArrayBuffer> {
  const raw = typeof key === 'string' ? utf8.encode(key) : key
  const k = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ])
  return crypto.subtle.sign('HMAC', k, utf8.encode(message))
}

/** Standard base64 of bytes. */
export function toBase64(bytes: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
}
