import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { fuzzOpenApi, type OpenApiDoc, summarize } from './fuzz/openapi-fuzz.ts'
import { appKinds, startTestApp, type TestApp } from './harness/app.ts'
import { makeUsers } from './harness/users.ts'

const services = inject('services')
const ADMIN_TOKEN = 'fuzz-admin-token-0123456789abcdef'
/** CI: a fixed seed and a small budget; `npm run fuzz -- --runs N [--seed S]` for a long run. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 12)
const SEED = Number(process.env.FUZZ_SEED ?? 20261202)
const KINDS =
  (process.env.FUZZ_KINDS?.split(',') as ('memory' | 'real')[] | undefined) ?? appKinds(services)

describe.each(KINDS)('OpenAPI fuzzing (%s)', (kind) => {
  let app: TestApp
  let doc: OpenApiDoc
  let tokens: { user: string; admin: string }
  let knownIds: string[]

  beforeAll(async () => {
    app = await startTestApp(kind, { env: { ADMIN_TOKEN, SEED_DEMO_DATA: 'true' } })
    doc = (await (await app.fetch('/openapi.json')).json()) as OpenApiDoc
    const users = await makeUsers(app, 3)
    tokens = { user: users[0]!.token, admin: ADMIN_TOKEN }
    // Ids that exist, so generated requests reach past the 404s: demo shops and types, users.
    knownIds = [...Array.from({ length: 15 }, (_, i) => String(i + 1)), ...users.map((u) => u.id)]
  }, 120_000)
  afterAll(() => app?.close())

  it(
    `every operation: no 5xx, documented statuses, problem+json errors, schema-valid bodies (${RUNS} runs/op, seed ${SEED})`,
    async () => {
      const report = await fuzzOpenApi({
        baseUrl: app.url,
        doc,
        runs: RUNS,
        seed: SEED,
        tokens,
        knownIds,
      })
      console.log(`fuzz (${kind}): ${summarize(report)}`)
      expect(report.operations).toBeGreaterThanOrEqual(40)
      expect(report.failures, summarize(report)).toEqual([])
    },
    Number(process.env.FUZZ_TIMEOUT_MS ?? 300_000)
  )
})
