import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import fc from 'fast-check'

/**
 * Schema-driven fuzzing of an OpenAPI 3.1 document: for every operation, requests generated from
 * its parameter and body schemas (valid ones, and ones with a single part broken), sent with no,
 * garbage, user and admin credentials. Every answer must be: below 500, a status the operation
 * documents, problem+json for errors (with the matching `status` and a `code`), and a body that
 * matches the documented schema for successes. Generic over the document, so new routes are
 * fuzzed the day they are declared.
 */

export type Schema = {
  $ref?: string
  type?: string | string[]
  enum?: unknown[]
  const?: unknown
  pattern?: string
  format?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  items?: Schema
  minItems?: number
  maxItems?: number
  properties?: Record<string, Schema>
  required?: string[]
  anyOf?: Schema[]
  oneOf?: Schema[]
  allOf?: Schema[]
  additionalProperties?: boolean | Schema
  default?: unknown
}

type Parameter = { name: string; in: string; required?: boolean; schema: Schema }
type Media = Record<string, { schema?: Schema }>
type Operation = {
  security?: Record<string, unknown>[]
  parameters?: Parameter[]
  requestBody?: { required?: boolean; content?: Media }
  responses: Record<string, { content?: Media }>
}
export type OpenApiDoc = {
  paths: Record<string, Record<string, Operation>>
  components?: { schemas?: Record<string, Schema> }
}

export interface FuzzOptions {
  baseUrl: string
  doc: OpenApiDoc
  /** Generated requests per operation. */
  runs: number
  seed: number
  tokens: { user: string; admin: string }
  /** Ids that exist (shops, users, blogs, …): mixed into id-shaped values so success paths run. */
  knownIds: string[]
  /** Operations to leave out, as 'METHOD /path'. */
  skip?: (method: string, path: string) => boolean
}

export interface FuzzFailure {
  operation: string
  status: number
  reason: string
  request: string
}

export interface FuzzReport {
  requests: number
  operations: number
  byStatus: Record<string, number>
  failures: FuzzFailure[]
  ms: number
}

interface Case {
  valid: boolean
  auth: 'none' | 'garbage' | 'user' | 'admin'
  params: Record<string, string>
  query: [string, string][]
  body: { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; text: string }
}

const MAX_STRING = 40

export function createFuzzer(doc: OpenApiDoc) {
  const schemas = doc.components?.schemas ?? {}
  const resolve = (s: Schema, depth = 0): Schema => {
    if (s.$ref && depth < 20) return resolve(schemas[s.$ref.split('/').pop()!] ?? {}, depth + 1)
    return s
  }
  /** The schema with every $ref inlined (for the validator). */
  const inline = (s: unknown, depth = 0): unknown => {
    if (Array.isArray(s)) return s.map((x) => inline(x, depth))
    if (!s || typeof s !== 'object') return s
    const obj = s as Schema & Record<string, unknown>
    if (obj.$ref) return depth > 30 ? {} : inline(resolve(obj), depth + 1)
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, inline(v, depth)]))
  }

  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true })
  addFormats(ajv)
  const validators = new Map<Schema, ValidateFunction>()
  const validatorOf = (s: Schema) => {
    let v = validators.get(s)
    if (!v) {
      v = ajv.compile(inline(s) as object)
      validators.set(s, v)
    }
    return v
  }

  return { resolve, validatorOf }
}

/** A valid value of `schema`, biased towards `knownIds` for id-shaped strings. */
export function arbitraryOf(
  schema: Schema,
  resolve: (s: Schema) => Schema,
  knownIds: string[],
  name = ''
): fc.Arbitrary<unknown> {
  const s = resolve(schema)
  if (s.const !== undefined) return fc.constant(s.const)
  if (s.enum) return fc.constantFrom(...s.enum)
  const alts = s.anyOf ?? s.oneOf
  if (alts) return fc.oneof(...alts.map((a) => arbitraryOf(a, resolve, knownIds, name)))
  if (s.allOf?.[0]) return arbitraryOf(s.allOf[0], resolve, knownIds, name)
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : ['object']
  const nonNull = types.filter((t) => t !== 'null')
  const type = nonNull[0] ?? 'null'
  switch (type) {
    case 'null':
      return fc.constant(null)
    case 'boolean':
      return fc.boolean()
    case 'integer': {
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -1e6)
      const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : 1e6)
      return fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) })
    }
    case 'number': {
      const min = s.minimum ?? s.exclusiveMinimum ?? -1e6
      const max = s.maximum ?? s.exclusiveMaximum ?? 1e6
      return fc.oneof(
        fc.double({ min, max, noNaN: true, noDefaultInfinity: true }),
        fc.constant(Math.max(min, Math.min(0, max)))
      )
    }
    case 'array':
      return fc.array(arbitraryOf(s.items ?? {}, resolve, knownIds, name), {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 4, 4),
      })
    case 'object': {
      const props = s.properties ?? {}
      const record: Record<string, fc.Arbitrary<unknown>> = {}
      for (const [k, v] of Object.entries(props)) record[k] = arbitraryOf(v, resolve, knownIds, k)
      return fc.record(record, { requiredKeys: (s.required ?? []).filter((k) => k in props) })
    }
    default:
      return stringOf(s, knownIds, name)
  }
}

function stringOf(s: Schema, knownIds: string[], name: string): fc.Arbitrary<string> {
  if (s.format === 'date-time') {
    return fc
      .date({
        min: new Date('1970-01-01T00:00:00Z'),
        max: new Date('9999-12-31T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString())
  }
  if (s.pattern) {
    const pattern = fc.stringMatching(new RegExp(s.pattern))
    const fits = (v: string) =>
      new RegExp(s.pattern!).test(v) &&
      v.length >= (s.minLength ?? 0) &&
      v.length <= (s.maxLength ?? Number.POSITIVE_INFINITY)
    const ids = knownIds.filter(fits)
    const capped = pattern.filter(fits)
    return ids.length > 0 && /id$/i.test(name) ? fc.oneof(fc.constantFrom(...ids), capped) : capped
  }
  const minLength = s.minLength ?? 0
  const maxLength = Math.max(minLength, Math.min(s.maxLength ?? MAX_STRING, MAX_STRING))
  return fc.oneof(
    fc.string({ minLength, maxLength }),
    fc.string({ minLength, maxLength, unit: 'grapheme' }),
    fc.string({ minLength, maxLength, unit: 'binary' })
  )
}

/** Values that break a schema in the ways clients do. */
const hostile = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(
    '',
    'a\u0000b',
    '\ud800',
    ' ',
    'x'.repeat(70_000),
    -1,
    0,
    2 ** 31,
    2 ** 53 + 1,
    1e308,
    -1e308,
    '9999999999999999999',
    '99999999999999999999999',
    '0001-01-01T00:00:00Z',
    '1969-12-31T23:59:59Z',
    '10000-01-01T00:00:00Z',
    '2030-02-30T00:00:00Z',
    true,
    null,
    [],
    {},
    '../../etc/passwd',
    "' OR 1=1 --",
    '%00'
  )
)

/**
 * A hostile string for a path or query slot, kept under Node's 16 KB header limit (a longer request
 * line is the HTTP parser's 431, tested on its own in test/edges.test.ts).
 */
const hostileText = hostile.map((v) =>
  (typeof v === 'string' ? v : (JSON.stringify(v) ?? '')).slice(0, 2000)
)

function caseOf(
  op: Operation,
  resolve: (s: Schema) => Schema,
  knownIds: string[]
): fc.Arbitrary<Case> {
  const params = (op.parameters ?? []).filter((p) => p.in === 'path' || p.in === 'query')
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v))
  const validParams = fc.tuple(
    ...params.map((p) =>
      p.required || p.in === 'path'
        ? arbitraryOf(p.schema, resolve, knownIds, p.name).map((v) => [p, text(v)] as const)
        : fc.option(
            arbitraryOf(p.schema, resolve, knownIds, p.name).map((v) => [p, text(v)] as const),
            {
              nil: undefined,
            }
          )
    )
  )
  const json = op.requestBody?.content?.['application/json']?.schema
  const validBody: fc.Arbitrary<Case['body']> = json
    ? arbitraryOf(json, resolve, knownIds).map((value) => ({ kind: 'json' as const, value }))
    : fc.constant({ kind: 'none' as const })
  // Mostly the credentials the operation asks for (so requests get past the 401), sometimes others.
  const schemes = (op.security ?? []).flatMap((s) => Object.keys(s))
  const wanted: Case['auth'] = schemes.includes('adminBearer')
    ? 'admin'
    : schemes.includes('bearerAuth')
      ? 'user'
      : 'none'
  const auth = fc.oneof(
    { weight: 4, arbitrary: fc.constant(wanted) },
    { weight: 1, arbitrary: fc.constantFrom<Case['auth']>('none', 'garbage', 'user', 'admin') }
  )
  const build = (
    valid: boolean,
    list: readonly (readonly [Parameter, string] | undefined)[],
    body: Case['body'],
    a: Case['auth']
  ): Case => {
    const out: Case = { valid, auth: a, params: {}, query: [], body }
    for (const entry of list) {
      if (!entry) continue
      const [p, v] = entry
      if (p.in === 'path') out.params[p.name] = v
      else out.query.push([p.name, v])
    }
    return out
  }
  const valid = fc.tuple(validParams, validBody, auth).map(([l, b, a]) => build(true, l, b, a))
  // Invalid: one part broken — a parameter, a body field, the whole body, or a missing field.
  const breakers: fc.Arbitrary<Case>[] = []
  if (params.length > 0) {
    breakers.push(
      fc
        .tuple(valid, fc.nat(params.length - 1), hostileText, fc.boolean())
        .map(([c, i, bad, drop]) => {
          const p = params[i]!
          if (p.in === 'path') c.params[p.name] = bad
          else {
            c.query = c.query.filter(([k]) => k !== p.name)
            if (!drop) c.query.push([p.name, bad])
          }
          return { ...c, valid: false }
        })
    )
  }
  if (json) {
    const props = Object.keys(resolve(json).properties ?? {})
    breakers.push(
      fc
        .tuple(valid, hostile)
        .map(([c, bad]) => ({ ...c, valid: false, body: { kind: 'json' as const, value: bad } })),
      fc.tuple(valid, fc.constantFrom('{"broken":', 'null', '', '[]', '\u0000')).map(([c, t]) => ({
        ...c,
        valid: false,
        body: { kind: 'raw' as const, text: t },
      }))
    )
    if (props.length > 0) {
      breakers.push(
        fc
          .tuple(valid, fc.constantFrom(...props), hostile, fc.boolean())
          .map(([c, k, bad, drop]) => {
            const base =
              c.body.kind === 'json' && c.body.value && typeof c.body.value === 'object'
                ? { ...(c.body.value as object) }
                : {}
            const value: Record<string, unknown> = base
            if (drop) delete value[k]
            else value[k] = bad
            return { ...c, valid: false, body: { kind: 'json' as const, value } }
          })
      )
    }
  }
  return breakers.length > 0 ? fc.oneof(valid, valid, ...breakers) : valid
}

/** encodeURIComponent, except lone surrogates go out as their (invalid) 3-byte UTF-8 form. */
function encodePathSegment(text: string): string {
  let out = ''
  for (const ch of text) {
    const c = ch.charCodeAt(0)
    if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff) {
      const bytes = [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
      out += bytes.map((b) => `%${b.toString(16).toUpperCase()}`).join('')
    } else out += encodeURIComponent(ch)
  }
  return out
}

function describeCase(method: string, url: string, c: Case): string {
  const body =
    c.body.kind === 'json' ? JSON.stringify(c.body.value) : c.body.kind === 'raw' ? c.body.text : ''
  return `${method} ${url.slice(0, 300)} auth=${c.auth}${body ? ` body=${body.slice(0, 300)}` : ''}`
}

/** Runs the fuzz campaign; never throws for a bad answer, it reports it. */
export async function fuzzOpenApi(options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now()
  const { doc, baseUrl, tokens } = options
  const { resolve, validatorOf } = createFuzzer(doc)
  const report: FuzzReport = { requests: 0, operations: 0, byStatus: {}, failures: [], ms: 0 }
  let opIndex = 0
  // Operations that end the caller's session (logout) run last, so the others keep a live token.
  const operations = Object.entries(doc.paths)
    .flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, op }))
    )
    .sort((a, b) => Number(/\/logout$/.test(a.path)) - Number(/\/logout$/.test(b.path)))
  for (const { path, method, op } of operations) {
    const M = method.toUpperCase()
    if (options.skip?.(M, path)) continue
    report.operations++
    const cases = fc.sample(caseOf(op, resolve, options.knownIds), {
      numRuns: options.runs,
      seed: options.seed + opIndex++,
    })
    for (const c of cases) {
      let url = path.replace(/\{([^}]+)\}/g, (_, name: string) =>
        // An empty segment would address another path ('/shops//vouchers'): send a space.
        encodePathSegment(c.params[name] || ' ')
      )
      if (c.query.length > 0) url += `?${new URLSearchParams(c.query).toString()}`
      const headers: Record<string, string> = {}
      if (c.auth === 'user') headers.authorization = `Bearer ${tokens.user}`
      if (c.auth === 'admin') headers.authorization = `Bearer ${tokens.admin}`
      if (c.auth === 'garbage') headers.authorization = 'Bearer AAAAAAAAAAAAAAAAAAAAAA'
      let body: string | undefined
      if (c.body.kind !== 'none') {
        headers['content-type'] = 'application/json'
        body = c.body.kind === 'json' ? JSON.stringify(c.body.value) : c.body.text
      }
      const fail = (status: number, reason: string) =>
        report.failures.push({
          operation: `${M} ${path}`,
          status,
          reason,
          request: describeCase(M, url, c),
        })
      let res: Response
      try {
        res = await fetch(`${baseUrl}${url}`, {
          method: M,
          headers,
          ...(body !== undefined ? { body } : {}),
        })
      } catch (e) {
        fail(0, `no answer: ${(e as Error).message}`)
        continue
      }
      report.requests++
      const status = res.status
      report.byStatus[status] = (report.byStatus[status] ?? 0) + 1
      // A live event stream (a sale's or an order's SSE) never ends: its status and type are
      // checked, its body is not read.
      if (
        status === 200 &&
        (res.headers.get('content-type') ?? '').startsWith('text/event-stream')
      ) {
        await res.body?.cancel()
        if (!op.responses['200']?.content?.['text/event-stream']) {
          fail(status, 'undocumented event stream')
        }
        continue
      }
      const text = await res.text()
      if (status >= 500 && !(status === 503 && op.responses['503'])) {
        fail(status, `server error: ${text.slice(0, 200)}`)
        continue
      }
      const documented = op.responses[String(status)] ?? op.responses.default
      if (!documented) {
        fail(status, `undocumented status: ${text.slice(0, 200)}`)
        continue
      }
      const type = res.headers.get('content-type') ?? ''
      // Errors are problem+json, except where the document declares another body for that
      // status (the hmdp surface's envelope): then the body must match that schema.
      const declaredJson = documented.content?.['application/json']?.schema
      const isProblem = type.includes('application/problem+json')
      const problemDeclared = Boolean(documented.content?.['application/problem+json'])
      if (status >= 400 && (!declaredJson || (isProblem && problemDeclared))) {
        if (!type.includes('application/problem+json')) {
          fail(status, `error without problem+json (${type})`)
          continue
        }
        const problem = JSON.parse(text) as { status?: unknown; code?: unknown }
        if (problem.status !== status || typeof problem.code !== 'string') {
          fail(status, `malformed problem: ${text.slice(0, 200)}`)
        }
        continue
      }
      const schema = documented.content?.['application/json']?.schema
      if (schema && type.includes('json')) {
        const validate = validatorOf(schema)
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          fail(status, 'body is not JSON')
          continue
        }
        if (!validate(parsed)) {
          fail(
            status,
            `body does not match the schema: ${JSON.stringify(validate.errors?.slice(0, 2))}`
          )
        }
      }
    }
  }
  report.ms = Math.round(performance.now() - started)
  return report
}

/** A short text summary (per status, then the first failures). */
export function summarize(r: FuzzReport): string {
  const lines = [
    `${r.requests} requests over ${r.operations} operations in ${r.ms} ms; statuses ${JSON.stringify(r.byStatus)}; ${r.failures.length} failures`,
  ]
  const seen = new Set<string>()
  for (const f of r.failures) {
    const key = `${f.operation} ${f.status} ${f.reason.slice(0, 40)}`
    if (seen.has(key)) continue
    seen.add(key)
    lines.push(`  ${f.operation} → ${f.status}: ${f.reason.slice(0, 300)}\n      ${f.request}`)
    if (seen.size >= 40) break
  }
  return lines.join('\n')
}
