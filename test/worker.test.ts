import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import type { ExecutionContext } from 'hono'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import worker, { createWorker } from '../src/app/worker.ts'
import { createTestDatabase, type TestDatabase } from './harness/db.ts'
import { REDIS_URL } from './harness/services.ts'
import { type LocalStack, startLocalStack } from './stack/index.ts'

/** A stand-in for Cloudflare's ExecutionContext that records what was handed to waitUntil. */
function executionContext() {
  const waiting: Promise<unknown>[] = []
  const ctx: ExecutionContext = {
    waitUntil: (p) => void waiting.push(p),
    passThroughOnException() {},
    props: {},
  }
  return { ctx, waiting, settle: () => Promise.all(waiting) }
}

describe('Worker entry', () => {
  it('answers a 500 problem naming the missing configuration (and no secret values)', async () => {
    const { ctx } = executionContext()
    const res = await worker.fetch(
      new Request('https://w.example/health'),
      { DATABASE_URL: 'x' },
      ctx
    )
    expect(res.status).toBe(500)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const body = await res.json()
    expect(body.code).toBe('CONFIG_INVALID')
    const text = JSON.stringify(body.errors)
    expect(text).toContain('UPSTASH_REDIS_REST_URL')
    expect(text).toContain('QSTASH_TOKEN')
  })
})

describe.skipIf(!inject('services').redis || !inject('services').postgres)(
  'Worker entry on the real stack (gateway → Redis, QStash stand-in, Neon proxy → Postgres)',
  () => {
    let db: TestDatabase
    let stack: LocalStack
    let env: Record<string, string>
    beforeAll(async () => {
      db = await createTestDatabase()
      stack = await startLocalStack({ redisUrl: REDIS_URL, databaseUrl: db.url })
      env = { ...stack.env, APP_ENV: 'test', LOG_LEVEL: 'silent', PUBLIC_URL: 'https://w.example' }
    })
    afterAll(async () => {
      await stack?.close()
      await db?.drop()
    })

    it('serves /health with every cloud adapter and closes the per-request pool via waitUntil', async () => {
      const { ctx, waiting, settle } = executionContext()
      const res = await createWorker({ topics: () => ({}), jobs: [] }).fetch(
        new Request('https://w.example/health'),
        env,
        ctx
      )
      expect(res.status).toBe(200)
      const body = await res.json()
      expect(body.checks).toMatchObject({
        redis: { status: 'up', adapter: 'upstash' },
        queue: { status: 'up', adapter: 'qstash' },
        database: { status: 'up', adapter: 'neon-serverless' },
      })
      expect(waiting.length).toBeGreaterThanOrEqual(1)
      await settle()
    })

    it('scheduled() runs every job in its own scope through waitUntil', async () => {
      const ran: string[] = []
      const w = createWorker({
        topics: () => ({}),
        jobs: [
          {
            name: 'probe-db',
            run: async (deps) => {
              await deps.users.findById('1')
              ran.push('probe-db')
            },
          },
          {
            name: 'failing',
            run: async () => {
              throw new Error('job failure is contained')
            },
          },
        ],
      })
      const { ctx, settle } = executionContext()
      await w.scheduled({ cron: '* * * * *', scheduledTime: Date.now() }, env, ctx)
      await settle()
      expect(ran).toEqual(['probe-db'])
    })
  }
)

describe('Worker bundle', () => {
  const outdir = { path: '' }
  beforeAll(async () => {
    outdir.path = await mkdtemp(join(tmpdir(), 'worker-bundle-'))
  })
  afterAll(async () => {
    await rm(outdir.path, { recursive: true, force: true })
  })

  it('builds offline with wrangler (dry run) and stays small', async () => {
    await promisify(execFile)(
      'node_modules/.bin/wrangler',
      ['deploy', '--dry-run', '--outdir', outdir.path],
      { env: { ...process.env, WRANGLER_SEND_METRICS: 'false' }, timeout: 120_000 }
    )
    const code = await readFile(join(outdir.path, 'worker.js'))
    const gzip = gzipSync(code).length
    console.log(
      `worker bundle: ${(code.length / 1024).toFixed(1)} KiB, gzip ${(gzip / 1024).toFixed(1)} KiB`
    )
    expect(code.toString()).toContain('/internal/queue/{topic}')
    expect(code.toString()).not.toMatch(/pglite\.wasm|postgres\.data/)
    // The live hub Durable Object class that wrangler.toml binds (LIVE_HUB) is exported.
    expect(code.toString()).toMatch(/export \{[^}]*\bLiveHub\b/)
    // Our budget (issue 13): 450 KiB gzip, well inside the free plan's 1 MiB compressed limit.
    expect(gzip).toBeLessThan(450 * 1024)
  })
})
