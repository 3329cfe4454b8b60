/**
 * The queue signature check (src/adapters/qstash/signature.ts) against the SDK's Receiver: tokens
 * the QStash stand-in mints for real deliveries verify, on both hashing paths (Web Crypto, and
 * node:crypto as the Node host uses); every forged, tampered, expired, wrong-key, alg-none or
 * garbage token is refused with `false`, never an exception; the next key is honoured.
 */
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Client, Receiver } from '@upstash/qstash'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeHashing } from '../src/adapters/qstash/node-hashing.ts'
import { QStashVerifier } from '../src/adapters/qstash/queue.ts'
import { type QStashServer, signQStashJwt, startQStashServer } from './stack/qstash-server.ts'

const keys = { current: 'sig_current_0123456789abcdef', next: 'sig_next_fedcba9876543210zz' }
const URL_ = 'https://app.example/internal/queue/orders.persist'
const BODY = JSON.stringify({ orderId: '1', voucherId: '2', userId: '3', seq: 1, acceptedAt: 4 })

const variants = {
  'Web Crypto': new QStashVerifier(keys),
  'node:crypto': new QStashVerifier(keys, { hashing: nodeHashing }),
}
const receiver = new Receiver({ currentSigningKey: keys.current, nextSigningKey: keys.next })
const sdkAccepts = (signature: string, body = BODY, url = URL_) =>
  receiver.verify({ signature, body, url, clockTolerance: 5 }).then(
    () => true,
    () => false
  )

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const hmac = async (key: string, input: string, hash = 'SHA-256') => {
  const k = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(key),
    { name: 'HMAC', hash },
    false,
    ['sign']
  )
  return Buffer.from(await crypto.subtle.sign('HMAC', k, new TextEncoder().encode(input))).toString(
    'base64url'
  )
}
/** A token with any header and claims, HMAC-signed with `key` (hash per `alg`). */
async function mint(header: Record<string, unknown>, claims: Record<string, unknown>, key: string) {
  const input = `${b64(header)}.${b64(claims)}`
  const hash = { HS384: 'SHA-384', HS512: 'SHA-512' }[String(header.alg)] ?? 'SHA-256'
  return `${input}.${await hmac(key, input, hash)}`
}
const now = () => Math.floor(Date.now() / 1000)
const claims = (over: Record<string, unknown> = {}) => ({
  iss: 'Upstash',
  sub: URL_,
  iat: now(),
  nbf: now(),
  exp: now() + 300,
  jti: 'jwt_x',
  body: `${createHash('sha256').update(BODY).digest('base64url')}=`,
  ...over,
})

describe.each(Object.entries(variants))('QStashVerifier (%s)', (_, verifier) => {
  const verify = (signature: string | null, body = BODY, url = URL_) =>
    verifier.verify({ signature, body, url })

  it('accepts the stand-in’s tokens under the current key and, during rotation, the next key', async () => {
    for (const key of [keys.current, keys.next]) {
      const signature = await signQStashJwt(key, { sub: URL_, body: BODY })
      expect(await verify(signature)).toBe(true)
      expect(await sdkAccepts(signature)).toBe(true)
    }
    // padding on the body claim is ignored, as by the Receiver
    const padded = await mint({ alg: 'HS256', typ: 'JWT' }, claims(), keys.current)
    expect(await verify(padded)).toBe(true)
    expect(await sdkAccepts(padded)).toBe(true)
  })

  it('refuses what the Receiver refuses: tampered body or URL, expiry, wrong key, bad claims', async () => {
    const ok = await signQStashJwt(keys.current, { sub: URL_, body: BODY })
    const H = { alg: 'HS256', typ: 'JWT' }
    const cases: [string, string, string?, string?][] = [
      ['tampered body', ok, `${BODY} `],
      ['another URL', ok, BODY, `${URL_}x`],
      ['wrong key', await signQStashJwt('sig_wrong_key_0000000000000', { sub: URL_, body: BODY })],
      [
        'expired beyond the tolerance',
        await signQStashJwt(keys.current, { sub: URL_, body: BODY, nowMs: Date.now() - 310_000 }),
      ],
      ['not yet valid', await mint(H, claims({ nbf: now() + 60 }), keys.current)],
      ['wrong issuer', await mint(H, claims({ iss: 'Evil' }), keys.current)],
      ['no issuer', await mint(H, claims({ iss: undefined }), keys.current)],
      ['no subject', await mint(H, claims({ sub: undefined }), keys.current)],
      ['no body claim', await mint(H, claims({ body: undefined }), keys.current)],
      ['string exp', await mint(H, claims({ exp: String(now() + 300) }), keys.current)],
      ['string nbf', await mint(H, claims({ nbf: String(now()) }), keys.current)],
      ['string iat', await mint(H, claims({ iat: String(now()) }), keys.current)],
      [
        'claims an array',
        `${b64(H)}.${b64([1])}.${await hmac(keys.current, `${b64(H)}.${b64([1])}`)}`,
      ],
      ['alg none, no signature', `${b64({ alg: 'none' })}.${b64(claims())}.`],
      ['alg none, a signature', `${b64({ alg: 'none' })}.${b64(claims())}.${b64('x')}`],
      ['alg RS256 label', await mint({ alg: 'RS256' }, claims(), keys.current)],
      ['header not JSON', `${b64('{alg')}.${b64(claims())}.${await hmac(keys.current, 'x')}`],
      ['signature truncated', ok.slice(0, -4)],
      ['two segments', ok.split('.').slice(0, 2).join('.')],
      ['four segments', `${ok}.x`],
      ['garbage', 'garbage'],
      ['empty', ''],
      ['dots', '...'],
      ['non-ASCII', 'ä.ö.ü'],
      ['base64 with padding chars', ok.replace('.', '=.')],
    ]
    for (const [name, token, body = BODY, url = URL_] of cases) {
      expect([name, await verify(token, body, url)]).toEqual([name, false])
      expect([name, await sdkAccepts(token, body, url)]).toEqual([name, false])
    }
    expect(await verify(null)).toBe(false)
  })

  it('keeps the Receiver’s 5 s clock tolerance on exp and nbf', async () => {
    const H = { alg: 'HS256', typ: 'JWT' }
    const within = await mint(H, claims({ exp: now() - 2, nbf: now() + 2 }), keys.current)
    expect(await verify(within)).toBe(true)
    expect(await sdkAccepts(within)).toBe(true)
    const beyond = await mint(H, claims({ exp: now() - 8 }), keys.current)
    expect(await verify(beyond)).toBe(false)
    expect(await sdkAccepts(beyond)).toBe(false)
  })

  it('is stricter than the Receiver on purpose: HS256 only, exp required, no crit', async () => {
    const stricter = [
      await mint({ alg: 'HS512', typ: 'JWT' }, claims(), keys.current),
      await mint({ alg: 'HS384', typ: 'JWT' }, claims(), keys.next),
      await mint({ alg: 'HS256', typ: 'JWT' }, claims({ exp: undefined }), keys.current),
    ]
    for (const token of stricter) {
      expect(await sdkAccepts(token)).toBe(true)
      expect(await verify(token)).toBe(false)
    }
  })

  it('uses only the configured keys: QSTASH_DEV in the environment changes nothing', async () => {
    const devKey = 'sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r' // the SDK's public dev-mode key
    const token = await signQStashJwt(devKey, { sub: URL_, body: BODY })
    const saved = process.env.QSTASH_DEV
    process.env.QSTASH_DEV = 'true'
    try {
      // The SDK's Receiver without devMode: false switches to the public dev keys…
      expect(await sdkAccepts(token)).toBe(true)
      // …this verifier does not.
      expect(await verify(token)).toBe(false)
      expect(await verify(await signQStashJwt(keys.current, { sub: URL_, body: BODY }))).toBe(true)
    } finally {
      if (saved === undefined) delete process.env.QSTASH_DEV
      else process.env.QSTASH_DEV = saved
    }
  })

  it('refuses the standard-base64 alphabet the Receiver tolerates (same bytes, not base64url)', async () => {
    let checked = 0
    for (let n = 0; checked < 3 && n < 50; n++) {
      const token = await signQStashJwt(keys.current, { sub: URL_, body: `${BODY}${n}` })
      const at = [...token].findIndex((c) => c === '_' || c === '-')
      if (at < 0) continue
      const swapped = token.slice(0, at) + (token[at] === '_' ? '/' : '+') + token.slice(at + 1)
      expect(await sdkAccepts(swapped, `${BODY}${n}`)).toBe(true)
      expect(await verify(swapped, `${BODY}${n}`)).toBe(false)
      expect(await verify(token, `${BODY}${n}`)).toBe(true)
      checked++
    }
    expect(checked).toBe(3)
  })

  it('agrees with the Receiver on every one-character change of a valid token (never throws)', async () => {
    const token = await signQStashJwt(keys.next, { sub: URL_, body: BODY })
    const chars = 'ABCxyz019-_=.+/ %ä'
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(...chars),
        async (at, ch) => {
          const changed = token.slice(0, at) + ch + token.slice(at + 1)
          // The one deliberate difference: jose decodes with Node's lenient base64, which reads
          // '/' and '+' as the base64url '_' and '-'; this verifier takes base64url only, so such
          // a token (same bytes, wrong alphabet) is refused here while the Receiver accepts it.
          const sameBytesOtherAlphabet =
            (ch === '/' && token[at] === '_') || (ch === '+' && token[at] === '-')
          const expected = (await sdkAccepts(changed)) && !sameBytesOtherAlphabet
          expect(await verify(changed)).toBe(expected)
        }
      ),
      { numRuns: 300, seed: 11 }
    )
  })
})

describe('deliveries of the real QStash stand-in, published with the real SDK Client', () => {
  let qstash: QStashServer
  let server: Server
  const seen: { body: string; results: boolean[] }[] = []
  beforeAll(async () => {
    qstash = await startQStashServer()
    const signingKeys = { current: qstash.currentSigningKey, next: qstash.nextSigningKey }
    const verifiers = [
      new QStashVerifier(signingKeys),
      new QStashVerifier(signingKeys, { hashing: nodeHashing }),
    ]
    const sdk = new Receiver({
      currentSigningKey: signingKeys.current,
      nextSigningKey: signingKeys.next,
    })
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const body = Buffer.concat(chunks).toString('utf8')
      const signature = String(req.headers['upstash-signature'] ?? '')
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${req.url}`
      const results = await Promise.all([
        ...verifiers.map((v) => v.verify({ signature, body, url })),
        sdk.verify({ signature, body, url, clockTolerance: 5 }).catch(() => false),
      ])
      seen.push({ body, results })
      res.end('ok')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  })
  afterAll(async () => {
    await new Promise((r) => server.close(r))
    await qstash.close()
  })

  it('every delivery verifies on both paths, as with the SDK’s Receiver', async () => {
    const client = new Client({ baseUrl: qstash.url, token: qstash.token, devMode: false })
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/internal/queue/t`
    const bodies = [{ n: 1 }, { text: 'ünïcödé ✓' }, [1, 2, 3], 'plain', { big: 'x'.repeat(5000) }]
    for (const body of bodies) await client.publishJSON({ url: base, body, retries: 0 })
    await qstash.idle()
    expect(seen.map((s) => JSON.parse(s.body))).toEqual(expect.arrayContaining(bodies))
    expect(seen).toHaveLength(bodies.length)
    for (const s of seen) expect(s.results).toEqual([true, true, true])
  })
})
