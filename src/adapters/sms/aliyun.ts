import { DependencyUnavailable } from '../../domain/errors.ts'
import type { CodeSender } from '../../domain/ports/code-sender.ts'
import { hmacSha256, SMS_TIMEOUT_MS, sha256Hex, toHex } from './signing.ts'

export interface AliyunSmsConfig {
  /** ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET (a RAM user allowed dysmsapi:SendSms). */
  accessKeyId: string
  accessKeySecret: string
  /** ALIYUN_SMS_SIGN_NAME: the approved signature (签名), e.g. "黑马点评". */
  signName: string
  /** ALIYUN_SMS_TEMPLATE_CODE: an approved verification-code template with a `${code}` variable. */
  templateCode: string
  /** ALIYUN_SMS_ENDPOINT: default https://dysmsapi.aliyuncs.com. */
  endpoint: string
}

/** Options for tests: the wall clock used for `x-acs-date` and the fetch implementation. */
export interface AliyunSmsOptions {
  now?: () => number
  fetch?: typeof fetch
  timeoutMs?: number
}

const ACTION = 'SendSms'
const VERSION = '2017-05-25'
const ALGORITHM = 'ACS3-HMAC-SHA256'

/** RFC 3986 percent-encoding as Alibaba Cloud canonicalises it (space → %20, `*` → %2A, `~` kept). */
export function acsEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`
  )
}

/** Dysmsapi's number format: mainland numbers without +86, others as country code + number. */
export function aliyunPhoneNumber(e164: string): string {
  return e164.startsWith('+86') ? e164.slice(3) : e164.slice(1)
}

/**
 * Signs a request with Alibaba Cloud's signature method V3 (ACS3-HMAC-SHA256): canonical request
 * (method, path, sorted encoded query, lowercase sorted signed headers, hex SHA-256 of the body),
 * hashed into the string to sign, HMAC-SHA256 with the AccessKey secret. Returns the
 * `Authorization` header value.
 */
export async function signAcs3(input: {
  method: string
  path: string
  query: Record<string, string>
  headers: Record<string, string>
  bodyHash: string
  accessKeyId: string
  accessKeySecret: string
}): Promise<string> {
  const query = Object.keys(input.query)
    .sort()
    .map((k) => `${acsEncode(k)}=${acsEncode(input.query[k]!)}`)
    .join('&')
  const names = Object.keys(input.headers)
    .map((h) => h.toLowerCase())
    .sort()
  const lower = Object.fromEntries(
    Object.entries(input.headers).map(([k, v]) => [k.toLowerCase(), v.trim()])
  )
  const canonicalHeaders = names.map((h) => `${h}:${lower[h]}\n`).join('')
  const signedHeaders = names.join(';')
  const canonical = [
    input.method,
    input.path,
    query,
    canonicalHeaders,
    signedHeaders,
    input.bodyHash,
  ].join('\n')
  const signature = toHex(
    await hmacSha256(input.accessKeySecret, `${ALGORITHM}\n${await sha256Hex(canonical)}`)
  )
  return `${ALGORITHM} Credential=${input.accessKeyId},SignedHeaders=${signedHeaders},Signature=${signature}`
}

/**
 * Sends login codes through Alibaba Cloud SMS (Dysmsapi `SendSms`, API version 2017-05-25) over
 * plain `fetch`, so it runs on Workers as well as Node, Deno and Bun. A send succeeds only when
 * Dysmsapi answers `Code: "OK"`; any other answer, a network error or a timeout rejects with
 * `DependencyUnavailable('sms')` (the caller answers 503) carrying the provider's code.
 */
export class AliyunSmsSender implements CodeSender {
  readonly #config: AliyunSmsConfig
  readonly #now: () => number
  readonly #fetch: typeof fetch
  readonly #timeoutMs: number

  constructor(config: AliyunSmsConfig, options: AliyunSmsOptions = {}) {
    this.#config = config
    this.#now = options.now ?? Date.now
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init))
    this.#timeoutMs = options.timeoutMs ?? SMS_TIMEOUT_MS
  }

  async send(phone: string, code: string): Promise<void> {
    const cfg = this.#config
    const url = new URL(cfg.endpoint)
    const query = {
      PhoneNumbers: aliyunPhoneNumber(phone),
      SignName: cfg.signName,
      TemplateCode: cfg.templateCode,
      TemplateParam: JSON.stringify({ code }),
    }
    const bodyHash = await sha256Hex('')
    const headers: Record<string, string> = {
      host: url.host,
      'x-acs-action': ACTION,
      'x-acs-version': VERSION,
      'x-acs-date': new Date(this.#now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'x-acs-signature-nonce': crypto.randomUUID().replaceAll('-', ''),
      'x-acs-content-sha256': bodyHash,
    }
    const authorization = await signAcs3({
      method: 'POST',
      path: '/',
      query,
      headers,
      bodyHash,
      accessKeyId: cfg.accessKeyId,
      accessKeySecret: cfg.accessKeySecret,
    })
    const search = Object.entries(query)
      .map(([k, v]) => `${acsEncode(k)}=${acsEncode(v)}`)
      .join('&')
    const { host: _host, ...sent } = headers
    let reply: { Code?: string; Message?: string; RequestId?: string }
    let status: number
    try {
      const res = await this.#fetch(`${url.origin}/?${search}`, {
        method: 'POST',
        headers: { ...sent, authorization, accept: 'application/json' },
        signal: AbortSignal.timeout(this.#timeoutMs),
      })
      status = res.status
      reply = (await res.json().catch(() => ({}))) as typeof reply
    } catch (e) {
      throw new DependencyUnavailable('sms', e)
    }
    if (status === 200 && reply.Code === 'OK') return
    throw new DependencyUnavailable(
      'sms',
      new Error(
        `aliyun SendSms refused (HTTP ${status}): ${reply.Code ?? 'no code'}: ${reply.Message ?? ''} (RequestId ${reply.RequestId ?? '?'})`
      )
    )
  }
}
