/**
 * User flows over HTTP only, for apps the test cannot reach inside (another runtime's process, the
 * Worker in workerd): login through the code endpoint, admin sale setup, a burst of buyers. Plain
 * fetch and no Node APIs, so the same helpers run in Node and inside workerd.
 */

/**
 * Every test client comes from 127.0.0.1 (or, in workerd, from no address at all): the per-client
 * and service-wide login-abuse budgets are off in tests unless a test sets them
 * (test/login-abuse.test.ts does).
 */
export const LOGIN_ABUSE_OFF = {
  AUTH_CODE_SEND_CLIENT_LIMITS: 'off',
  AUTH_CODE_SEND_GLOBAL_LIMITS: 'off',
  AUTH_LOGIN_CLIENT_FAILURES: 'off',
  AUTH_LOGIN_GLOBAL_FAILURES: 'off',
} as const

export interface HttpInit extends RequestInit {
  token?: string
  json?: unknown
}

/** fetch against one app: a path and the test's conveniences (bearer token, JSON body). */
export type AppFetch = (path: string, init?: HttpInit) => Promise<Response>

export function appFetch(
  send: (url: string, init: RequestInit) => Promise<Response>,
  origin: string
): AppFetch {
  return (path, init = {}) => {
    const { token, json, headers, ...rest } = init
    const h = new Headers(headers)
    if (token) h.set('authorization', `Bearer ${token}`)
    if (json !== undefined) h.set('content-type', 'application/json')
    return send(`${origin}${path}`, {
      ...rest,
      headers: h,
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    })
  }
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the order of results. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>
): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await work(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  return out
}

async function expectStatus(res: Response, status: number, what: string) {
  if (res.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${res.status} ${await res.text()}`)
  }
  return res
}

/** Mainland mobile numbers distinct per (series, i): +86 138 SSSS IIII. */
export const testPhone = (series: number, i: number) =>
  `+86138${String(series % 10_000).padStart(4, '0')}${String(i).padStart(4, '0')}`

/** Logs in as a phone's owner: asks for a code (devCode outside production) and signs in. */
export async function login(api: AppFetch, phone: string): Promise<{ token: string; id: string }> {
  const sent = await expectStatus(
    await api('/auth/code', { method: 'POST', json: { phone } }),
    202,
    'POST /auth/code'
  )
  const { devCode } = (await sent.json()) as { devCode: string }
  const res = await expectStatus(
    await api('/auth/login', { method: 'POST', json: { phone, code: devCode } }),
    200,
    'POST /auth/login'
  )
  const body = (await res.json()) as { token: string; user: { id: string } }
  return { token: body.token, id: body.user.id }
}

/** `n` logged-in users (8 logins in flight at a time). */
export function loginMany(api: AppFetch, series: number, n: number) {
  return mapLimit(
    Array.from({ length: n }, (_, i) => testPhone(series, i)),
    8,
    (phone) => login(api, phone)
  )
}

/** Creates a flash sale on shop 1 open from a minute ago for an hour (admin API). */
export async function createSale(
  api: AppFetch,
  adminToken: string,
  now: number,
  over: Record<string, unknown> = {}
): Promise<{ id: string }> {
  const res = await api('/vouchers/seckill', {
    method: 'POST',
    token: adminToken,
    json: {
      shopId: '1',
      title: '50 off 100',
      payValue: 5000,
      actualValue: 10000,
      stock: 100,
      beginAt: new Date(now - 60_000).toISOString(),
      endAt: new Date(now + 3_600_000).toISOString(),
      ...over,
    },
  })
  await expectStatus(res, 201, 'POST /vouchers/seckill')
  return (await res.json()) as { id: string }
}

/** Every buyer tries once, all at the same time; answers by status. */
export async function rush(api: AppFetch, saleId: string, tokens: readonly string[]) {
  const responses = await Promise.all(
    tokens.map((token) => api(`/vouchers/${saleId}/seckill`, { method: 'POST', token }))
  )
  const bodies = (await Promise.all(responses.map((r) => r.json()))) as {
    orderId?: string
    code?: string
  }[]
  return {
    accepted: bodies.filter((_, i) => responses[i]!.status === 202).map((b) => b.orderId!),
    refused: bodies.filter((_, i) => responses[i]!.status === 409).map((b) => b.code!),
    other: responses.filter((r) => r.status !== 202 && r.status !== 409).map((r) => r.status),
  }
}
