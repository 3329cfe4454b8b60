import { z } from 'zod'

/** Which CodeSender delivers login codes, with its settings (see README "Login codes by SMS"). */
export type SmsConfig =
  | {
      provider: 'aliyun'
      accessKeyId: string
      accessKeySecret: string
      signName: string
      templateCode: string
      endpoint: string
    }
  | { provider: 'webhook'; url: string; secret: string }
  /** No provider: codes go to the log (never allowed in production). */
  | { provider: 'log' }

const text = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional()

const SmsEnv = z.object({
  ALIBABA_CLOUD_ACCESS_KEY_ID: text,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: text,
  ALIYUN_SMS_SIGN_NAME: text,
  ALIYUN_SMS_TEMPLATE_CODE: text,
  ALIYUN_SMS_ENDPOINT: text.pipe(z.url().optional()),
  SMS_WEBHOOK_URL: text.pipe(z.url().optional()),
  SMS_WEBHOOK_SECRET: text.pipe(
    z
      .string()
      .regex(
        /^whsec_[A-Za-z0-9+/]{22,}={0,2}$/,
        'must be whsec_ + base64 of at least 16 random bytes (Standard Webhooks)'
      )
      .optional()
  ),
})

const ALIYUN_VARS = [
  'ALIBABA_CLOUD_ACCESS_KEY_ID',
  'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  'ALIYUN_SMS_SIGN_NAME',
  'ALIYUN_SMS_TEMPLATE_CODE',
] as const
const WEBHOOK_VARS = ['SMS_WEBHOOK_URL', 'SMS_WEBHOOK_SECRET'] as const

/**
 * Reads the SMS settings. Aliyun SMS when any ALIYUN_SMS_* / ALIBABA_CLOUD_ACCESS_KEY_* variable is
 * set (then all four are required), the signed webhook when SMS_WEBHOOK_* is set (both required),
 * never both; otherwise the log sender, which production refuses. Problems name variables only.
 */
export function readSmsConfig(
  env: Record<string, unknown>,
  production: boolean
): { sms: SmsConfig; problems: string[] } {
  const parsed = SmsEnv.safeParse(env)
  if (!parsed.success) {
    return {
      sms: { provider: 'log' },
      problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    }
  }
  const e = parsed.data
  const problems: string[] = []
  const needAll = (vars: readonly (keyof typeof e)[], what: string) => {
    const missing = vars.filter((v) => !e[v])
    if (missing.length > 0) problems.push(`${what} needs ${missing.join(', ')}`)
  }
  const aliyun = ALIYUN_VARS.some((v) => e[v]) || Boolean(e.ALIYUN_SMS_ENDPOINT)
  const webhook = WEBHOOK_VARS.some((v) => e[v])
  if (aliyun && webhook) {
    problems.push('configure one SMS sender: Aliyun SMS (ALIYUN_SMS_*) or SMS_WEBHOOK_*, not both')
  }
  if (aliyun) {
    needAll(ALIYUN_VARS, 'Aliyun SMS')
    const sms: SmsConfig = {
      provider: 'aliyun',
      accessKeyId: e.ALIBABA_CLOUD_ACCESS_KEY_ID ?? '',
      accessKeySecret: e.ALIBABA_CLOUD_ACCESS_KEY_SECRET ?? '',
      signName: e.ALIYUN_SMS_SIGN_NAME ?? '',
      templateCode: e.ALIYUN_SMS_TEMPLATE_CODE ?? '',
      endpoint: e.ALIYUN_SMS_ENDPOINT ?? 'https://dysmsapi.aliyuncs.com',
    }
    return { sms, problems }
  }
  if (webhook) {
    needAll(WEBHOOK_VARS, 'the SMS webhook')
    const sms: SmsConfig = {
      provider: 'webhook',
      url: e.SMS_WEBHOOK_URL ?? '',
      secret: e.SMS_WEBHOOK_SECRET ?? '',
    }
    return { sms, problems }
  }
  if (production) {
    problems.push(
      `APP_ENV=production needs an SMS sender, or nobody can log in: set ${ALIYUN_VARS.join(', ')} (Aliyun SMS) or ${WEBHOOK_VARS.join(', ')} (signed webhook)`
    )
  }
  return { sms: { provider: 'log' }, problems }
}
