import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { SyncHashing } from './signature.ts'

/**
 * The signature check's hashing on `node:crypto` (Node, Bun, Deno): synchronous, so a delivery's
 * check costs no thread-pool round trip (Node runs every Web Crypto digest and HMAC on libuv's
 * thread pool: ~30 µs of CPU each on this machine, against ~2 µs here). Workers keep Web Crypto.
 */
export const nodeHashing: SyncHashing = {
  sha256Base64url: (text) => createHash('sha256').update(text, 'utf8').digest('base64url'),
  hmacSha256Equals(key, data, mac) {
    const expected = createHmac('sha256', key).update(data, 'utf8').digest()
    return expected.length === mac.length && timingSafeEqual(expected, mac)
  },
}
