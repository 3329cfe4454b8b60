/**
 * QStash wire format for the local server (qstash-server.ts): parsing publish requests and their
 * `Upstash-*` headers, the delivery signature JWT, and the JSON shapes the SDK reads back (Message,
 * DlqMessage, callback bodies). Everything here is pure; the server owns state and timing.
 */
import { createHash, randomBytes } from 'node:crypto'
import { compileRetryDelay } from './qstash-retry-delay.ts'

/** What GET /v2/messages/:id returns (the SDK's `Message`). */
export interface MessageInfo {
  messageId: string
  url: string
  method: string
  header: Record<string, string[]>
  body?: string
  bodyBase64?: string
  maxRetries: number
  retryDelayExpression?: string
  notBefore: number
  createdAt: number
  callback?: string
  failureCallback?: string
  queueName?: string
  labels?: string[]
  label?: string
  callerIp: string
}

/** What GET /v2/dlq lists (the SDK's `DlqMessage`). */
export interface DlqEntry extends MessageInfo {
  dlqId: string
  responseStatus?: number
  responseHeader?: Record<string, string[]>
  responseBody?: string
  responseBodyBase64?: string
}

/** Delivery options read from `Upstash-*` headers (or `Upstash-Callback-*` for a callback). */
export interface DeliveryOptions {
  method: string
  delayMs: number
  /** Absolute virtual time in ms (from `Upstash-Not-Before`, unix seconds). */
  notBefore?: number
  retries: number
  retryDelay?: string
  timeoutMs: number
  /** `Upstash-Forward-X: v` → `x: v`. */
  forward: Record<string, string>
}

/** A validated publish, before it becomes a message. */
export interface PublishSpec {
  url: string
  method: string
  /** Exactly the headers delivered besides the Upstash-* ones: content-type and forwarded ones. */
  headers: Record<string, string>
  body: Buffer
  opts: DeliveryOptions
  callback?: { url: string; opts: DeliveryOptions }
  failureCallback?: { url: string; opts: DeliveryOptions }
  queue?: string
  labels?: string[]
  dedupKey?: string
}

export interface StoredMessage extends PublishSpec {
  id: string
  createdAt: number
  notBefore: number
  retried: number
}

/** The outcome of one HTTP attempt; `status` null = connection error or timeout. */
export interface AttemptResult {
  status: number | null
  header: Record<string, string[]>
  body: Buffer
  error?: string
}

export class HttpError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}
export const bad = (message: string): never => {
  throw new HttpError(400, message)
}
export const rand = (prefix: string, bytes = 12) => `${prefix}${randomBytes(bytes).toString('hex')}`
export const decode = (s: string) => {
  try {
    return decodeURIComponent(s)
  } catch {
    return bad(`malformed percent-encoding: ${s}`)
  }
}
const multi = (h: Record<string, string>) =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, [v]]))

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'])
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `"10s"`, `"1500ms"`, `"1h30m"`, or a bare number of seconds → ms. */
export function parseDuration(text: string): number {
  const s = text.trim()
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y
  let total = 0
  for (let m = re.exec(s); m; m = re.lastIndex < s.length ? re.exec(s) : null) {
    total += Number(m[1]) * UNITS[m[2]!]!
  }
  if (s === '' || re.lastIndex !== s.length) bad(`invalid duration: ${text}`)
  return total
}

/** The raw destination from the path (the SDK appends it unencoded, query string included). */
export function parseDestination(raw: string): string {
  let dest = /^https?%3A/i.test(raw) ? decode(raw) : raw
  dest = dest.replace(/^(https?):\/(?!\/)/i, '$1://') // a proxy may have merged the '//'
  let parsed: URL | undefined
  try {
    parsed = new URL(dest)
  } catch {}
  if (!parsed || !/^https?:$/.test(parsed.protocol)) {
    bad(`invalid destination url (URL groups and APIs are not supported): ${raw}`)
  }
  return dest
}

/** Reads `<p>method`, `<p>delay`, … from lower-cased headers; p = 'upstash-' or a callback's prefix. */
export function parseOptions(h: Record<string, string>, p: string): DeliveryOptions {
  const method = (h[`${p}method`] ?? 'POST').toUpperCase()
  if (!METHODS.has(method)) bad(`invalid ${p}method`)
  const int = (name: string) => {
    const v = h[`${p}${name}`]
    if (v !== undefined && !/^\d+$/.test(v.trim())) bad(`invalid ${p}${name}: ${v}`)
    return v === undefined ? undefined : Number(v)
  }
  const retryDelay = h[`${p}retry-delay`]
  try {
    if (retryDelay !== undefined) compileRetryDelay(retryDelay)
  } catch (e) {
    bad(`invalid ${p}retry-delay: ${(e as Error).message}`)
  }
  const forward: Record<string, string> = {}
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(`${p}forward-`)) forward[k.slice(p.length + 8)] = v
  }
  const delay = h[`${p}delay`]
  const timeout = h[`${p}timeout`]
  const notBefore = int('not-before')
  return {
    method,
    delayMs: delay === undefined ? 0 : parseDuration(delay),
    notBefore: notBefore === undefined ? undefined : notBefore * 1000,
    retries: int('retries') ?? 3,
    retryDelay,
    timeoutMs: timeout === undefined ? 15 * 60_000 : parseDuration(timeout),
    forward,
  }
}

/** Validates a publish / enqueue / batch item without side effects (so a batch fails as a whole). */
export function parsePublish(
  rawDest: string,
  h: Record<string, string>,
  body: Buffer,
  queue?: string
): PublishSpec {
  const url = parseDestination(rawDest)
  const opts = parseOptions(h, 'upstash-')
  const callback = (name: string) => {
    const target = h[`upstash-${name}`]
    if (target === undefined) return undefined
    return { url: parseDestination(target), opts: parseOptions(h, `upstash-${name}-`) }
  }
  const headers = { ...opts.forward }
  if (h['content-type'] !== undefined) headers['content-type'] = h['content-type']
  const label = h['upstash-label']
  const dedupId = h['upstash-deduplication-id']
  const contentHash = () => createHash('sha256').update(`${url}\n`).update(body).digest('hex')
  let dedupKey: string | undefined
  if (dedupId !== undefined) dedupKey = `id:${dedupId}`
  else if (h['upstash-content-based-deduplication'] === 'true') dedupKey = `body:${contentHash()}`
  return {
    url,
    method: opts.method,
    headers,
    body,
    opts,
    callback: callback('callback'),
    failureCallback: callback('failure-callback'),
    queue,
    labels: label ? label.split(',').map((s) => s.trim()) : undefined,
    dedupKey,
  }
}

/**
 * Mints an `Upstash-Signature` JWT as QStash does: HS256 keyed with the UTF-8 bytes of the signing
 * key; claims iss/sub/exp(+5 min)/nbf/iat/jti and body = base64url(SHA-256(raw body)).
 */
export async function signQStashJwt(
  signingKey: string,
  claims: { sub: string; body: string | Uint8Array; nowMs?: number; ttlSeconds?: number }
): Promise<string> {
  const iat = Math.floor((claims.nowMs ?? Date.now()) / 1000)
  const payload = {
    iss: 'Upstash',
    sub: claims.sub,
    exp: iat + (claims.ttlSeconds ?? 300),
    nbf: iat,
    iat,
    jti: rand('jwt_'),
    body: createHash('sha256').update(claims.body).digest('base64url'),
  }
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const input = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(payload)}`
  const utf8 = new TextEncoder()
  const hmac = { name: 'HMAC', hash: 'SHA-256' }
  const key = await crypto.subtle.importKey('raw', utf8.encode(signingKey), hmac, false, ['sign'])
  const sig = await crypto.subtle.sign('HMAC', key, utf8.encode(input))
  return `${input}.${Buffer.from(sig).toString('base64url')}`
}

/** `{body}` when the bytes are valid UTF-8, else `{bodyBase64}` (same for responseBody). */
export function bodyFields(body: Buffer, field: 'body' | 'responseBody') {
  try {
    return { [field]: new TextDecoder('utf-8', { fatal: true }).decode(body) }
  } catch {
    return { [`${field}Base64`]: body.toString('base64') }
  }
}

export function messageInfo(m: StoredMessage): MessageInfo {
  return {
    messageId: m.id,
    url: m.url,
    method: m.method,
    header: multi(m.headers),
    ...bodyFields(m.body, 'body'),
    maxRetries: m.opts.retries,
    ...(m.opts.retryDelay !== undefined && { retryDelayExpression: m.opts.retryDelay }),
    notBefore: m.notBefore,
    createdAt: m.createdAt,
    ...(m.callback && { callback: m.callback.url }),
    ...(m.failureCallback && { failureCallback: m.failureCallback.url }),
    ...(m.queue !== undefined && { queueName: m.queue }),
    ...(m.labels && { labels: m.labels, label: m.labels[0] }),
    callerIp: '127.0.0.1',
  }
}

/** The JSON a callback / failure callback receives (docs `qstash/features/callbacks`). */
export function callbackBody(src: StoredMessage, r: AttemptResult, dlqId?: string): string {
  return JSON.stringify({
    status: r.status ?? 0,
    header: r.header,
    body: r.body.toString('base64'),
    retried: src.retried,
    maxRetries: src.opts.retries,
    ...(dlqId !== undefined && { dlqId }),
    sourceMessageId: src.id,
    topicName: '',
    endpointName: '',
    url: src.url,
    method: src.method,
    sourceHeader: multi(src.headers),
    sourceBody: src.body.toString('base64'),
    notBefore: String(src.notBefore),
    createdAt: String(src.createdAt),
    scheduleId: '',
    callerIP: '127.0.0.1',
  })
}
