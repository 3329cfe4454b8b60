import { DependencyUnavailable } from '../../domain/errors.ts'
import type { CodeSender } from '../../domain/ports/code-sender.ts'
import { hmacSha256, SMS_TIMEOUT_MS, toBase64 } from './signing.ts'

export interface WebhookSmsConfig {
  /** SMS_WEBHOOK_URL: where each login code is POSTed (your bridge to any SMS provider). */
  url: string
  /** SMS_WEBHOOK_SECRET: a Standard Webhooks secret, `whsec_` + base64 of 24–64 random bytes. */
  secret: string
}

export interface WebhookSmsOptions {
  now?: () => number
  fetch?: typeof fetch
  timeoutMs?: number
}

/** The key bytes of a `whsec_<base64>` secret, or null when it is not one (≥ 16 bytes). */
export function webhookSecretKey(secret: string): Uint8Array<ArrayBuffer> | null {
  const m = secret.match(/^whsec_([A-Za-z0-9+/]+={0,2})$/)
  if (!m) return null
  let raw: string
  try {
    raw = atob(m[1]!)
  } catch {
    return null
  }
  return raw.length >= 16 ? Uint8Array.from(raw, (c) => c.charCodeAt(0)) : null
}

/**
 * Signs a webhook as the Standard Webhooks specification does (standardwebhooks.com; the scheme
 * Svix and others verify): `v1,` + base64 HMAC-SHA256 over `${id}.${timestamp}.${body}`.
 */
export async function signWebhook(
  key: Uint8Array<ArrayBuffer>,
  id: string,
  timestamp: number,
  body: string
): Promise<string> {
  return `v1,${toBase64(await hmacSha256(key, `${id}.${timestamp}.${body}`))}`
}

/**
 * Hands login codes to any SMS provider through a signed HTTP webhook. Each code is one POST of
 * `{"type":"login_code","phone":"+86…","code":"042917"}` with the Standard Webhooks headers
 * `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`. A 2xx answer means
 * accepted; anything else, a network error or a timeout rejects with `DependencyUnavailable('sms')`.
 */
export class WebhookCodeSender implements CodeSender {
  readonly #url: string
  readonly #key: Uint8Array<ArrayBuffer>
  readonly #now: () => number
  readonly #fetch: typeof fetch
  readonly #timeoutMs: number

  constructor(config: WebhookSmsConfig, options: WebhookSmsOptions = {}) {
    const key = webhookSecretKey(config.secret)
    if (!key) throw new Error('SMS_WEBHOOK_SECRET must be whsec_ + base64 of at least 16 bytes')
    this.#url = config.url
    this.#key = key
    this.#now = options.now ?? Date.now
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init))
    this.#timeoutMs = options.timeoutMs ?? SMS_TIMEOUT_MS
  }

  async send(phone: string, code: string): Promise<void> {
    const id = `msg_${crypto.randomUUID().replaceAll('-', '')}`
    const timestamp = Math.floor(this.#now() / 1000)
    const body = JSON.stringify({ type: 'login_code', phone, code })
    let status: number
    try {
      const res = await this.#fetch(this.#url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': await signWebhook(this.#key, id, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(this.#timeoutMs),
      })
      status = res.status
      await res.body?.cancel()
    } catch (e) {
      throw new DependencyUnavailable('sms', e)
    }
    if (status < 200 || status > 299) {
      throw new DependencyUnavailable('sms', new Error(`SMS webhook answered HTTP ${status}`))
    }
  }
}
