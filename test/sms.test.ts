import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { AliyunSmsSender, aliyunPhoneNumber, signAcs3 } from '../src/adapters/sms/aliyun.ts'
import { WebhookCodeSender } from '../src/adapters/sms/webhook.ts'
import { ConfigError, loadConfig } from '../src/app/config.ts'
import { startNodeServer } from '../src/app/node.ts'
import { DependencyUnavailable } from '../src/domain/errors.ts'
import { codeSenderContract } from './contracts/code-sender.contract.ts'
import { appKinds, startTestApp, type TestApp } from './harness/app.ts'
import { type SmsFailure, type SmsStandIn, startSmsStandIn } from './stack/sms-provider.ts'

const MIN = 60_000
let seq = 0
/** A fresh mainland mobile number per call (distinct across files and runs). */
function phone(): string {
  return `136${String(process.pid % 10_000).padStart(4, '0')}${String(seq++).padStart(4, '0')}`
}

let sms: SmsStandIn
beforeAll(async () => {
  sms = await startSmsStandIn()
})
afterAll(() => sms?.close())

const aliyun = (over: Partial<SmsStandIn['aliyun']> = {}) =>
  new AliyunSmsSender({ ...sms.aliyun, endpoint: sms.url, ...over })
const webhook = (secret = sms.webhook.secret) =>
  new WebhookCodeSender({ url: sms.webhook.url, secret })

codeSenderContract('aliyun (stand-in)', () => aliyun())
codeSenderContract('webhook (stand-in)', () => webhook())

describe('Alibaba Cloud signature V3', () => {
  it("reproduces the documentation's worked example (RunInstances, secret YourAccessKeySecret)", async () => {
    const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    const authorization = await signAcs3({
      method: 'POST',
      path: '/',
      query: {
        ImageId: 'win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd',
        RegionId: 'cn-shanghai',
      },
      headers: {
        host: 'ecs.cn-shanghai.aliyuncs.com',
        'x-acs-action': 'RunInstances',
        'x-acs-content-sha256': empty,
        'x-acs-date': '2023-10-26T09:01:01Z',
        'x-acs-signature-nonce': 'd410180a5abf7fe235dd9b74aca91fc0',
        'x-acs-version': '2014-05-26',
      },
      bodyHash: empty,
      accessKeyId: 'YourAccessKeyId',
      accessKeySecret: 'YourAccessKeySecret',
    })
    expect(authorization).toBe(
      'ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804'
    )
  })
})

describe('SMS senders against the provider stand-in', () => {
  it('Aliyun: a signed SendSms (V3 signature, Chinese sign name) delivers the code', async () => {
    await aliyun().send('+8613812345678', '042917')
    expect(sms.messages.at(-1)).toEqual({ via: 'aliyun', phone: '13812345678', code: '042917' })
    expect(sms.outcomes.at(-1)).toBe('OK')
    expect(aliyunPhoneNumber('+14155550123')).toBe('14155550123')
  })

  it('Webhook: a Standard Webhooks signed POST delivers phone and code', async () => {
    await webhook().send('+8613812345678', '913370')
    expect(sms.messages.at(-1)).toEqual({ via: 'webhook', phone: '+8613812345678', code: '913370' })
  })

  it.each([
    [
      'a wrong AccessKey secret',
      () => aliyun({ accessKeySecret: 'not-the-secret' }),
      'SignatureDoesNotMatch',
    ],
    [
      'an unknown AccessKey id',
      () => aliyun({ accessKeyId: 'LTAIunknown' }),
      'InvalidAccessKeyId.NotFound',
    ],
    ['an unapproved template', () => aliyun({ templateCode: 'SMS_0' }), 'isv.SMS_TEMPLATE_ILLEGAL'],
    ['a wrong webhook secret', () => webhook(`whsec_${btoa('x'.repeat(32))}`), 'bad signature'],
  ])('rejects with DependencyUnavailable(sms) on %s', async (_, make, outcome) => {
    const before = sms.messages.length
    const error = await make()
      .send('+8613812345678', '111111')
      .catch((e) => e)
    expect(error).toBeInstanceOf(DependencyUnavailable)
    expect(error.dependency).toBe('sms')
    expect(sms.outcomes.at(-1)).toBe(outcome)
    expect(sms.messages.length).toBe(before)
  })

  it.each<[SmsFailure, string]>([
    ['business-limit', 'isv.BUSINESS_LIMIT_CONTROL'],
    ['amount-not-enough', 'isv.AMOUNT_NOT_ENOUGH'],
    ['unavailable', 'ServiceUnavailable'],
    ['drop', 'drop'],
  ])('rejects on the provider failure %s (both senders)', async (failure, outcome) => {
    for (const sender of [aliyun(), webhook()]) {
      sms.failNext(failure)
      const error = await sender.send('+8613812345678', '222222').catch((e) => e)
      expect(error).toBeInstanceOf(DependencyUnavailable)
      if (sender instanceof AliyunSmsSender && failure !== 'drop') {
        expect(error.cause.message).toContain(outcome) // the provider's code reaches the log
      }
    }
    expect(sms.outcomes.slice(-2)).toEqual([outcome, outcome])
  })
})

describe('SMS configuration', () => {
  const base = { APP_ENV: 'production' }
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env)
      return []
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError)
      return (e as ConfigError).problems
    }
  }

  it('production refuses to start without a sender, naming the variables', () => {
    const [problem] = problems(base)
    expect(problem).toMatch(/APP_ENV=production needs an SMS sender/)
    expect(problem).toContain('ALIYUN_SMS_TEMPLATE_CODE')
    expect(problem).toContain('SMS_WEBHOOK_URL')
  })

  it('lists what a partial provider config is missing, and refuses two providers', () => {
    expect(problems({ ...base, ALIYUN_SMS_TEMPLATE_CODE: 'SMS_1' })).toEqual([
      'Aliyun SMS needs ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIYUN_SMS_SIGN_NAME',
    ])
    expect(problems({ SMS_WEBHOOK_URL: 'https://bridge.example/sms' })).toEqual([
      'the SMS webhook needs SMS_WEBHOOK_SECRET',
    ])
    expect(problems({ ...sms.env('aliyun'), ...sms.env('webhook') })[0]).toMatch(/not both/)
    expect(problems({ ...sms.env('webhook'), SMS_WEBHOOK_SECRET: 'short' })[0]).toMatch(
      /SMS_WEBHOOK_SECRET: must be whsec_/
    )
  })

  it('development keeps the log sender; a configured provider is used', () => {
    expect(loadConfig({}).sms).toEqual({ provider: 'log' })
    expect(loadConfig({ ...base, ...sms.env('aliyun') }).sms).toMatchObject({
      provider: 'aliyun',
      endpoint: sms.url,
    })
    expect(loadConfig({ ...base, ...sms.env('webhook') }).sms.provider).toBe('webhook')
  })

  it('the Node server does not start in production without a sender', async () => {
    await expect(
      startNodeServer({ port: 0, env: { ...base, LOG_LEVEL: 'silent', DATA_DIR: ':memory:' } })
    ).rejects.toThrow(/needs an SMS sender/)
  })
})

describe.each(appKinds(inject('services')))('production login through SMS [%s]', (kind) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp(kind, {
      env: { APP_ENV: 'production', ...sms.env(kind === 'real' ? 'aliyun' : 'webhook') },
    })
  })
  afterAll(() => app?.close())

  const requestCode = (p: string) => app.fetch('/auth/code', { method: 'POST', json: { phone: p } })
  const login = (p: string, code: string | undefined) =>
    app.fetch('/auth/login', { method: 'POST', json: { phone: p, code } })

  it('a new user logs in end to end with the code the provider delivered', async () => {
    const p = phone()
    const sent = await requestCode(p)
    expect(sent.status).toBe(202)
    const body = await sent.json()
    expect(body.devCode).toBeUndefined()
    const code = sms.codeFor(`+86${p}`)
    expect(code).toMatch(/^\d{6}$/)
    const res = await login(p, code)
    expect(res.status).toBe(200)
    const session = await res.json()
    expect(session.created).toBe(true)
    const me = await app.fetch('/users/me', { token: session.token })
    expect((await me.json()).phone).toBe(`+86${p}`)
  })

  it('a failed send answers 503, stores no code, keeps the earlier one and does not charge the throttle', async () => {
    const p = phone()
    expect((await requestCode(p)).status).toBe(202)
    const earlier = sms.codeFor(`+86${p}`)!
    await app.clock.advance(MIN) // the 1-per-minute tier admits the next send

    sms.failNext('business-limit')
    const failed = await requestCode(p)
    expect(failed.status).toBe(503)
    expect(failed.headers.get('content-type')).toBe('application/problem+json')
    expect(await failed.json()).toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
      dependency: 'sms',
    })
    const lost = sms.refused.at(-1)!.code
    expect(sms.codeFor(`+86${p}`)).toBe(earlier)

    // The throttle was not charged: an immediate retry is allowed (a charge would be 429).
    sms.failNext('drop')
    expect((await requestCode(p)).status).toBe(503)
    const retried = await requestCode(p)
    expect(retried.status).toBe(202)
    expect((await requestCode(p)).status).toBe(429) // the successful send was charged

    const fresh = sms.codeFor(`+86${p}`)!
    if (lost !== fresh) expect((await login(p, lost)).status).toBe(401) // never stored
    expect((await login(p, fresh)).status).toBe(200)
  })

  it('the earlier code stays valid when the next send fails', async () => {
    const p = phone()
    expect((await requestCode(p)).status).toBe(202)
    const earlier = sms.codeFor(`+86${p}`)!
    await app.clock.advance(MIN)
    sms.failNext('unavailable')
    expect((await requestCode(p)).status).toBe(503)
    expect((await login(p, earlier)).status).toBe(200)
  })
})
