/**
 * A local stand-in for the SMS side of login: Alibaba Cloud SMS (Dysmsapi `SendSms`, signature
 * method V3) at `POST /`, and a Standard Webhooks receiver at `POST /webhook`. It checks requests
 * the way the real services do — with its own implementation of the signatures (node:crypto), so
 * a signing bug in the app fails here — records every accepted message, and can be told to fail
 * with the provider's real error shapes.
 *
 * Dysmsapi checks: ACS3-HMAC-SHA256 `Authorization` over the canonical request (400
 * `SignatureDoesNotMatch`), unknown AccessKey (404 `InvalidAccessKeyId.NotFound`), `x-acs-date`
 * within 15 minutes (400 `InvalidTimeStamp.Expired`), nonce replay (400 `SignatureNonceUsed`),
 * body hash, action/version; then the SendSms business rules answered with HTTP 200 and a non-OK
 * `Code` (`isv.SMS_SIGNATURE_ILLEGAL`, `isv.SMS_TEMPLATE_ILLEGAL`, `isv.MOBILE_NUMBER_ILLEGAL`,
 * `isv.TEMPLATE_MISSING_PARAMETERS`).
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface SmsMessage {
  via: 'aliyun' | 'webhook'
  /** As the provider received it: Dysmsapi's PhoneNumbers (no +86) or the webhook's E.164. */
  phone: string
  code: string
}

/** Failure modes, each with the provider's real answer. */
export type SmsFailure =
  /** Dysmsapi per-number flow control: HTTP 200, Code isv.BUSINESS_LIMIT_CONTROL. */
  | 'business-limit'
  /** Dysmsapi account out of credit: HTTP 200, Code isv.AMOUNT_NOT_ENOUGH. */
  | 'amount-not-enough'
  /** Dysmsapi/bridge outage: HTTP 503 (Dysmsapi: Code ServiceUnavailable). */
  | 'unavailable'
  /** The connection is cut before any answer. */
  | 'drop'

export interface SmsStandIn {
  url: string
  aliyun: { accessKeyId: string; accessKeySecret: string; signName: string; templateCode: string }
  webhook: { url: string; secret: string }
  /** Accepted messages, oldest first. */
  messages: SmsMessage[]
  /** Well-formed messages the provider refused because of an injected failure (never delivered). */
  refused: SmsMessage[]
  /** Every request's outcome (`OK` or the error code), oldest first. */
  outcomes: string[]
  /** The next `count` requests fail with `failure`. */
  failNext(failure: SmsFailure, count?: number): void
  /** The app's environment for one provider. */
  env(provider: 'aliyun' | 'webhook'): Record<string, string>
  /** The code last delivered to a phone (either form), or undefined. */
  codeFor(phone: string): string | undefined
  close(): Promise<void>
}

const SKEW_MS = 15 * 60_000

function encode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`
  )
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex')

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

class Refusal extends Error {
  readonly status: number
  readonly code: string

  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export interface SmsStandInOptions {
  /** Fixed port (npm run stack); ephemeral by default. */
  port?: number
  /** Called for every delivered message (npm run stack prints the codes). */
  onMessage?: (message: SmsMessage) => void
}

export async function startSmsStandIn(options: SmsStandInOptions = {}): Promise<SmsStandIn> {
  const aliyun = {
    accessKeyId: `LTAI${randomBytes(10).toString('hex')}`,
    accessKeySecret: randomBytes(15).toString('base64url'),
    signName: '黑马点评',
    templateCode: 'SMS_154950909',
  }
  const webhookKey = randomBytes(32)
  const webhookSecret = `whsec_${webhookKey.toString('base64')}`
  const messages: SmsMessage[] = []
  const outcomes: string[] = []
  const refused: SmsMessage[] = []
  const nonces = new Set<string>()
  const failures: SmsFailure[] = []

  const verifyAcs3 = (req: IncomingMessage, url: URL, body: Buffer) => {
    const auth = req.headers.authorization ?? ''
    const m = auth.match(
      /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/
    )
    if (!m)
      throw new Refusal(
        400,
        'IncompleteSignature',
        'The request signature does not conform to Aliyun standards.'
      )
    const [, keyId, signedHeaders, signature] = m as unknown as [string, string, string, string]
    if (keyId !== aliyun.accessKeyId)
      throw new Refusal(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.')
    const names = signedHeaders.split(';')
    for (const required of [
      'host',
      'x-acs-action',
      'x-acs-version',
      'x-acs-date',
      'x-acs-signature-nonce',
      'x-acs-content-sha256',
    ]) {
      if (!names.includes(required))
        throw new Refusal(400, 'IncompleteSignature', `Header ${required} must be signed.`)
    }
    if (req.headers['x-acs-content-sha256'] !== sha256(body))
      throw new Refusal(400, 'ContentSHA256NotMatched', 'The content sha256 does not match.')
    const params = [...url.searchParams.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    const query = params.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')
    const headers = [...names]
      .sort()
      .map((h) => `${h}:${String(req.headers[h] ?? '').trim()}\n`)
      .join('')
    const canonical = [req.method, url.pathname, query, headers, signedHeaders, sha256(body)].join(
      '\n'
    )
    const stringToSign = `ACS3-HMAC-SHA256\n${sha256(canonical)}`
    const expected = createHmac('sha256', aliyun.accessKeySecret).update(stringToSign).digest('hex')
    if (!safeEqual(expected, signature))
      throw new Refusal(
        400,
        'SignatureDoesNotMatch',
        `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`
      )
    const date = String(req.headers['x-acs-date'] ?? '')
    const at = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(date) ? Date.parse(date) : Number.NaN
    if (!Number.isFinite(at) || Math.abs(Date.now() - at) > SKEW_MS)
      throw new Refusal(
        400,
        'InvalidTimeStamp.Expired',
        'Specified time stamp or date value is expired.'
      )
    const nonce = String(req.headers['x-acs-signature-nonce'])
    if (nonces.has(nonce))
      throw new Refusal(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.')
    nonces.add(nonce)
    if (req.headers['x-acs-action'] !== 'SendSms' || req.headers['x-acs-version'] !== '2017-05-25')
      throw new Refusal(
        400,
        'InvalidAction.NotFound',
        'Specified api is not found, please check your url and method.'
      )
  }

  /** SendSms business rules: HTTP 200 with a non-OK Code, as Dysmsapi answers them. */
  const sendSms = (url: URL): SmsMessage => {
    const q = url.searchParams
    const phone = q.get('PhoneNumbers') ?? ''
    if (q.get('SignName') !== aliyun.signName)
      throw new Refusal(200, 'isv.SMS_SIGNATURE_ILLEGAL', '该账号下找不到对应签名')
    if (q.get('TemplateCode') !== aliyun.templateCode)
      throw new Refusal(200, 'isv.SMS_TEMPLATE_ILLEGAL', '该账号下找不到对应模板')
    if (!/^(1\d{10}|[2-9]\d{7,14})$/.test(phone))
      throw new Refusal(200, 'isv.MOBILE_NUMBER_ILLEGAL', '非法手机号')
    let code: unknown
    try {
      code = JSON.parse(q.get('TemplateParam') ?? '{}').code
    } catch {
      code = undefined
    }
    if (typeof code !== 'string' || code === '')
      throw new Refusal(200, 'isv.TEMPLATE_MISSING_PARAMETERS', '模板变量缺少对应参数值')
    return { via: 'aliyun', phone, code }
  }

  const receiveWebhook = (req: IncomingMessage, body: Buffer): SmsMessage => {
    const id = String(req.headers['webhook-id'] ?? '')
    const timestamp = String(req.headers['webhook-timestamp'] ?? '')
    const signatures = String(req.headers['webhook-signature'] ?? '').split(' ')
    if (!id || !/^\d+$/.test(timestamp))
      throw new Refusal(400, 'missing headers', 'missing webhook headers')
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300)
      throw new Refusal(400, 'timestamp out of tolerance', 'webhook-timestamp too old or new')
    const expected = createHmac('sha256', webhookKey)
      .update(`${id}.${timestamp}.${body.toString('utf8')}`)
      .digest('base64')
    if (!signatures.some((s) => s.startsWith('v1,') && safeEqual(s.slice(3), expected)))
      throw new Refusal(401, 'bad signature', 'no matching v1 signature')
    if (nonces.has(id)) throw new Refusal(409, 'replayed', 'webhook-id seen before')
    nonces.add(id)
    const payload = JSON.parse(body.toString('utf8')) as {
      type?: string
      phone?: string
      code?: string
    }
    if (payload.type !== 'login_code' || !payload.phone || !payload.code)
      throw new Refusal(400, 'bad payload', 'expected a login_code payload')
    return { via: 'webhook', phone: payload.phone, code: payload.code }
  }

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8' })
    res.end(JSON.stringify(body))
  }

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const webhook = url.pathname === '/webhook'
    const RequestId = randomUUID().toUpperCase()
    const failure = failures.shift()
    if (failure === 'drop') {
      outcomes.push('drop')
      req.socket.destroy()
      return
    }
    try {
      if (req.method !== 'POST') throw new Refusal(405, 'MethodNotAllowed', 'POST only')
      if (!webhook) verifyAcs3(req, url, body)
      const message = webhook ? receiveWebhook(req, body) : sendSms(url)
      if (failure) refused.push(message)
      if (failure === 'unavailable')
        throw new Refusal(
          503,
          'ServiceUnavailable',
          'The request has failed due to a temporary failure of the server.'
        )
      if (failure === 'business-limit')
        throw new Refusal(200, 'isv.BUSINESS_LIMIT_CONTROL', '触发分钟级流控Permits:1')
      if (failure === 'amount-not-enough')
        throw new Refusal(200, 'isv.AMOUNT_NOT_ENOUGH', '账户余额不足')
      messages.push(message)
      outcomes.push('OK')
      options.onMessage?.(message)
      if (webhook) reply(res, 204, null)
      else reply(res, 200, { Code: 'OK', Message: 'OK', BizId: `${Date.now()}^0`, RequestId })
    } catch (e) {
      if (!(e instanceof Refusal)) throw e
      outcomes.push(e.code)
      if (webhook)
        reply(res, e.status === 200 ? 503 : e.status, { error: e.code, message: e.message })
      else
        reply(res, e.status, {
          RequestId,
          HostId: 'dysmsapi.aliyuncs.com',
          Code: e.code,
          Message: e.message,
        })
    }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => handle(req, res, Buffer.concat(chunks)))
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    aliyun,
    webhook: { url: `${url}/webhook`, secret: webhookSecret },
    messages,
    refused,
    outcomes,
    failNext(failure, count = 1) {
      for (let i = 0; i < count; i++) failures.push(failure)
    },
    env(provider): Record<string, string> {
      return provider === 'aliyun'
        ? {
            ALIBABA_CLOUD_ACCESS_KEY_ID: aliyun.accessKeyId,
            ALIBABA_CLOUD_ACCESS_KEY_SECRET: aliyun.accessKeySecret,
            ALIYUN_SMS_SIGN_NAME: aliyun.signName,
            ALIYUN_SMS_TEMPLATE_CODE: aliyun.templateCode,
            ALIYUN_SMS_ENDPOINT: url,
          }
        : { SMS_WEBHOOK_URL: `${url}/webhook`, SMS_WEBHOOK_SECRET: webhookSecret }
    },
    codeFor(phone) {
      const forms = [phone, phone.replace(/^\+86/, ''), phone.replace(/^\+/, '')]
      return messages.findLast((m) => forms.includes(m.phone))?.code
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
