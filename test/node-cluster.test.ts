import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDatabase } from '../src/adapters/postgres/db.ts'
import { MIGRATIONS_FOLDER, migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import { workerCount } from '../src/app/node-cluster.ts'
import { createTestDatabase, type TestDatabase } from './harness/db.ts'
import { freePort } from './harness/net.ts'
import { uniquePrefix } from './harness/redis.ts'
import { REDIS_URL } from './harness/services.ts'
import { deleteEverywhere } from './harness/transports.ts'
import { type NeonProxy, startNeonProxy } from './stack/neon-proxy.ts'

describe('WEB_CONCURRENCY', () => {
  const external = { REDIS_URL: 'redis://h:6379', DATABASE_URL: 'postgres://h/db' }
  it('embedded (no external Redis or database) stays one process', () => {
    expect(workerCount({})).toBe(1)
    expect(workerCount({ WEB_CONCURRENCY: '4' })).toBe(1)
    expect(workerCount({ REDIS_URL: 'redis://h:6379', WEB_CONCURRENCY: '4' })).toBe(1)
    expect(workerCount({ DATABASE_URL: 'postgres://h/db', WEB_CONCURRENCY: '4' })).toBe(1)
  })
  it('with external Redis and Postgres: every core by default, or WEB_CONCURRENCY', () => {
    expect(workerCount(external)).toBe(availableParallelism())
    expect(workerCount({ ...external, WEB_CONCURRENCY: '3' })).toBe(3)
    expect(workerCount({ ...external, WEB_CONCURRENCY: '1' })).toBe(1)
    expect(
      workerCount({ UPSTASH_REDIS_REST_URL: 'https://x', DATABASE_URL: 'p', WEB_CONCURRENCY: '2' })
    ).toBe(2)
  })
  it('ignores nonsense (one process)', () => {
    expect(workerCount({ ...external, WEB_CONCURRENCY: 'many' })).toBe(1)
    expect(workerCount({ ...external, WEB_CONCURRENCY: '0' })).toBe(1)
    expect(workerCount({ ...external, WEB_CONCURRENCY: '1.5' })).toBe(1)
  })
})

const children = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}

/** Polls an external process's state (not test-code synchronization). */
async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 30_000
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 100))
  }
}

const { redis, postgres } = inject('services')
describe.skipIf(!redis || !postgres)('npm start with external Redis and Postgres', () => {
  let db: TestDatabase
  let proc: ChildProcess
  let url: string
  const prefix = uniquePrefix('node-cluster')
  beforeAll(async () => {
    db = await createTestDatabase()
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    proc = spawn(process.execPath, ['src/app/node.ts'], {
      env: {
        ...process.env,
        PORT: String(port),
        APP_ENV: 'test',
        LOG_LEVEL: 'warn',
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        DATABASE_URL: db.url,
        WEB_CONCURRENCY: '2',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    // Generous: on a loaded 2-core machine, loading the app in the primary and then in every
    // worker has taken over a minute.
    await until(
      async () =>
        (await fetch(`${url}/health`).catch(() => null))?.status === 200 ? true : undefined,
      150_000
    )
  }, 180_000)
  afterAll(async () => {
    if (proc.exitCode === null) proc.kill('SIGKILL')
    await db?.drop()
    await deleteEverywhere('tcp', prefix)
  })

  it('serves from WEB_CONCURRENCY workers, replaces a dead one, and stops them all on SIGTERM', async () => {
    const workers = await until(() =>
      children(proc.pid!).length === 2 ? children(proc.pid!) : undefined
    )
    const health = await (await fetch(`${url}/health`)).json()
    expect(health.checks.redis.adapter).toBe('redis')
    expect(health.checks.database.adapter).toBe('node-postgres')
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => fetch(`${url}/health`).then((r) => r.status))
    )
    expect(answers.every((s) => s === 200)).toBe(true)

    process.kill(workers[0]!, 'SIGKILL')
    const replaced = await until(() => {
      const now = children(proc.pid!)
      return now.length === 2 && !now.includes(workers[0]!) ? now : undefined
    })
    expect(replaced).toContain(workers[1])
    await until(async () =>
      (await fetch(`${url}/health`).catch(() => null))?.status === 200 ? true : undefined
    )

    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
    proc.kill('SIGTERM')
    expect(await exited).toBe(0)
    for (const pid of replaced) expect(() => process.kill(pid, 0)).toThrow()
  })
})

/** How many migrations the folder holds (drizzle's journal). */
const MIGRATIONS: number = JSON.parse(
  readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')
).entries.length

/** drizzle's record of applied migrations, and whether the schema is there. */
async function applied(url: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ hash: string }>(
      'select hash from drizzle.__drizzle_migrations'
    )
    const vouchers = await client.query<{ n: string }>('select count(*) as n from vouchers')
    return { hashes: rows.map((r) => r.hash), vouchers: Number(vouchers.rows[0]!.n) }
  } finally {
    await client.end()
  }
}

// Fault model: several processes start on one empty database at the same moment (node:cluster
// workers, replicas, overlapping deploys) and each applies migrations at start.
describe.skipIf(!postgres)('migrations: many processes, one empty database, at once', () => {
  let proxy: NeonProxy
  beforeAll(async () => {
    proxy = await startNeonProxy()
  })
  afterAll(() => proxy?.close())

  for (const driver of ['node-postgres', 'neon-serverless'] as const) {
    it(`${driver}: 6 concurrent migrateDatabase calls all succeed, each migration applied once`, async () => {
      const db = await createTestDatabase({ empty: true })
      const handles = await Promise.all(
        Array.from({ length: 6 }, () =>
          createDatabase(
            driver === 'node-postgres'
              ? { driver, url: db.url }
              : { driver, url: db.url, localProxy: proxy.address }
          )
        )
      )
      try {
        const results = await Promise.allSettled(handles.map((h) => migrateDatabase(h)))
        expect(results.filter((r) => r.status === 'rejected')).toEqual([])
        const { hashes, vouchers } = await applied(db.url)
        expect(hashes).toHaveLength(MIGRATIONS)
        expect(new Set(hashes).size).toBe(MIGRATIONS)
        expect(vouchers).toBe(0)
      } finally {
        await Promise.all(handles.map((h) => h.close()))
        await db.drop()
      }
    })
  }
})

describe.skipIf(!redis || !postgres)('npm start: 4 workers on an empty database', () => {
  let db: TestDatabase
  let proc: ChildProcess | undefined
  const prefix = uniquePrefix('node-cluster-migrate')
  beforeAll(async () => {
    db = await createTestDatabase({ empty: true })
  })
  afterAll(async () => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL')
    await db?.drop()
    await deleteEverywhere('tcp', prefix)
  })

  it('all four come up on the first try, and the schema is applied once', async () => {
    const port = await freePort()
    let stdout = ''
    let stderr = ''
    proc = spawn(process.execPath, ['src/app/node.ts'], {
      env: {
        ...process.env,
        PORT: String(port),
        APP_ENV: 'test',
        LOG_LEVEL: 'info',
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        DATABASE_URL: db.url,
        WEB_CONCURRENCY: '4',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    proc.stdout!.on('data', (d) => {
      stdout += d
    })
    proc.stderr!.on('data', (d) => {
      stderr += d
    })
    // Every worker logs 'listening' once it serves (after its migrations).
    await until(() => (stdout.match(/"listening"/g)?.length === 4 ? true : undefined), 240_000)
    expect(stderr).not.toContain('worker exited')
    const workers = children(proc.pid!)
    expect(workers).toHaveLength(4)
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status)
      )
    )
    expect(answers.every((s) => s === 200)).toBe(true)
    const { hashes } = await applied(db.url)
    expect(hashes).toHaveLength(MIGRATIONS)
    expect(new Set(hashes).size).toBe(MIGRATIONS)
    const exited = new Promise<number | null>((r) => proc!.once('exit', (code) => r(code)))
    proc.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(stderr).not.toContain('worker exited')
  }, 300_000)
})
