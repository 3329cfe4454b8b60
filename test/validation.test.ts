import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from './harness/app.ts'
import { makeUsers } from './harness/users.ts'

type Schema = {
  $ref?: string
  type?: string | string[]
  properties?: Record<string, Schema>
  required?: string[]
  anyOf?: Schema[]
}
type Operation = {
  security?: Record<string, unknown>[]
  parameters?: { name: string; in: string; schema: Schema }[]
  requestBody?: { content?: Record<string, { schema: Schema }> }
}

const ADMIN = 'validation-admin-token-0123'

/**
 * "Bad JSON / wrong types on any route → 400 problem+json naming the field", checked against
 * every operation the OpenAPI document lists (so a new route is covered the day it is added).
 */
describe('every route rejects malformed JSON and wrong types with a 400 naming the field', () => {
  let app: TestApp
  let doc: {
    paths: Record<string, Record<string, Operation>>
    components: { schemas: Record<string, Schema> }
  }
  let userToken: string

  beforeAll(async () => {
    app = await startTestApp('memory', { env: { ADMIN_TOKEN: ADMIN, SEED_DEMO_DATA: 'true' } })
    doc = await (await app.fetch('/openapi.json')).json()
    userToken = (await makeUsers(app, 1))[0]!.token
  })
  afterAll(() => app?.close())

  const resolve = (s: Schema): Schema =>
    s.$ref ? resolve(doc.components.schemas[s.$ref.split('/').pop()!]!) : s
  const typeOf = (s: Schema): string => {
    const r = resolve(s)
    const t = Array.isArray(r.type) ? r.type.find((x) => x !== 'null') : r.type
    return t ?? (r.anyOf ? typeOf(r.anyOf[0]!) : 'object')
  }
  const wrongValue = (type: string): unknown => (type === 'string' ? 12345 : 'not-a-valid-value')

  function operations() {
    const out: { method: string; path: string; url: string; op: Operation }[] = []
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (path.startsWith('/internal/')) continue // signed queue deliveries: 401 before parsing
      for (const [method, op] of Object.entries(methods)) {
        out.push({ method: method.toUpperCase(), path, url: path.replace(/\{[^}]+\}/g, '1'), op })
      }
    }
    return out
  }

  function auth(op: Operation): Record<string, string> {
    const schemes = (op.security ?? []).flatMap((s) => Object.keys(s))
    if (schemes.includes('adminBearer')) return { authorization: `Bearer ${ADMIN}` }
    if (schemes.includes('bearerAuth')) return { authorization: `Bearer ${userToken}` }
    return {}
  }

  it('covers the routes with JSON bodies', () => {
    const withBody = operations().filter((o) => o.op.requestBody?.content?.['application/json'])
    expect(withBody.length).toBeGreaterThanOrEqual(8)
  })

  it('malformed JSON → 400 MALFORMED_JSON', async () => {
    for (const { method, url, op } of operations()) {
      if (!op.requestBody?.content?.['application/json']) continue
      const res = await app.fetch(url, {
        method,
        body: '{"broken":',
        headers: { ...auth(op), 'content-type': 'application/json' },
      })
      expect.soft([method, url, res.status], 'status').toEqual([method, url, 400])
      const body = await res.json()
      expect.soft([method, url, body.code]).toEqual([method, url, 'MALFORMED_JSON'])
    }
  })

  it('a wrongly typed body field → 400 VALIDATION_FAILED naming json.<field>', async () => {
    const checked: string[] = []
    for (const { method, url, op } of operations()) {
      const media = op.requestBody?.content?.['application/json']
      if (!media) continue
      const schema = resolve(media.schema)
      const [field, fieldSchema] = Object.entries(schema.properties ?? {})[0] ?? []
      if (!field || !fieldSchema) continue
      checked.push(`${method} ${url} json.${field}`)
      const res = await app.fetch(url, {
        method,
        json: { [field]: wrongValue(typeOf(fieldSchema)) },
        headers: auth(op),
      })
      const body = await res.json()
      expect
        .soft([method, url, res.status, body.code])
        .toEqual([method, url, 400, 'VALIDATION_FAILED'])
      expect
        .soft(body.errors?.map((e: { path: string }) => e.path) ?? [], `${method} ${url}`)
        .toContain(`json.${field}`)
    }
  })

  it('a wrongly typed numeric query parameter → 400 naming query.<name>', async () => {
    let checked = 0
    for (const { method, url, op } of operations()) {
      const param = (op.parameters ?? []).find(
        (p) => p.in === 'query' && ['number', 'integer'].includes(typeOf(p.schema))
      )
      if (!param) continue
      checked++
      const res = await app.fetch(`${url}?${param.name}=abc`, { method, headers: auth(op) })
      const body = await res.json()
      expect.soft([method, url, res.status]).toEqual([method, url, 400])
      expect
        .soft(body.errors?.map((e: { path: string }) => e.path) ?? [], `${method} ${url}`)
        .toContain(`query.${param.name}`)
    }
    expect(checked).toBeGreaterThan(0)
  })
})
