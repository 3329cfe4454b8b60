import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, neonConfig } from '@neondatabase/serverless'
import { eq, sql } from 'drizzle-orm'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import WebSocket from 'ws'
import { MemoryUserRepository } from '../src/adapters/memory/user-repository.ts'
import { createDatabase, type DatabaseHandle } from '../src/adapters/postgres/db.ts'
import { migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import { users } from '../src/adapters/postgres/schema.ts'
import { DrizzleUserRepository } from '../src/adapters/postgres/user-repository.ts'
import { SystemClock } from '../src/adapters/system/clock.ts'
import { userRepositoryContract } from './contracts/user-repository.contract.ts'
import { createTestDatabase, type TestDatabase } from './harness/db.ts'
import { type NeonProxy, startNeonProxy } from './stack/neon-proxy.ts'

const postgres = inject('services').postgres

userRepositoryContract('memory', async () => ({
  repo: new MemoryUserRepository(new SystemClock()),
  dispose: async () => {},
}))

userRepositoryContract('drizzle + pglite (in-memory)', async () => {
  const handle = await createDatabase({ driver: 'pglite' })
  await migrateDatabase(handle)
  return { repo: new DrizzleUserRepository(handle.db), dispose: () => handle.close() }
})

describe('createDatabase: pglite', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pglite-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('persists into dataDir across close and reopen', async () => {
    const dataDir = join(dir, 'nested', 'db')
    const first = await createDatabase({ driver: 'pglite', dataDir })
    expect(first.driver).toBe('pglite')
    await first.ping()
    await migrateDatabase(first)
    const { user } = await new DrizzleUserRepository(first.db).findOrCreateByPhone(
      '13800000000',
      'p'
    )
    await first.close()
    await first.close() // idempotent

    const second = await createDatabase({ driver: 'pglite', dataDir })
    try {
      await migrateDatabase(second) // already applied: a no-op
      const repo = new DrizzleUserRepository(second.db)
      expect(await repo.findByPhone('13800000000')).toEqual(user)
      const { rows } = await second.db.execute(sql`select count(*)::int as n from users`)
      expect(rows).toEqual([{ n: 1 }])
    } finally {
      await second.close()
    }
  })

  it('in-memory databases are separate and empty', async () => {
    const a = await createDatabase({ driver: 'pglite' })
    const b = await createDatabase({ driver: 'pglite' })
    try {
      await migrateDatabase(a)
      await new DrizzleUserRepository(a.db).findOrCreateByPhone('13800000001', 'a')
      await expect(b.db.execute(sql`select 1 from users`)).rejects.toThrow(/users/)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})

describe.skipIf(!postgres)('Postgres through the Neon driver and the local proxy', () => {
  let testDb: TestDatabase
  let proxy: NeonProxy
  let handle: DatabaseHandle
  let observer: pg.Client
  const open = () =>
    createDatabase({ driver: 'neon-serverless', url: testDb.url, localProxy: proxy.address })

  beforeAll(async () => {
    testDb = await createTestDatabase()
    proxy = await startNeonProxy()
    handle = await open()
    // A second connection, straight over TCP, to observe what other sessions can see.
    observer = new pg.Client({ connectionString: testDb.url })
    await observer.connect()
  })
  afterAll(async () => {
    await Promise.allSettled([observer?.end(), handle?.close()])
    await proxy?.close()
    await testDb?.drop()
  })

  userRepositoryContract('drizzle + node-postgres (TCP → Postgres)', async () => {
    const own = await createDatabase({ driver: 'node-postgres', url: testDb.url })
    return { repo: new DrizzleUserRepository(own.db), dispose: () => own.close() }
  })

  it('node-postgres: the same migrated database over plain TCP, and ping() answers', async () => {
    const tcp = await createDatabase({ driver: 'node-postgres', url: testDb.url })
    try {
      expect(tcp.driver).toBe('node-postgres')
      await tcp.ping()
    } finally {
      await tcp.close()
    }
    // Closed: a second close is a no-op, and the pool refuses work.
    await tcp.close()
    await expect(tcp.ping()).rejects.toThrow()
  })

  userRepositoryContract('drizzle + neon-serverless (proxy → Postgres)', async () => {
    const own = await open()
    return { repo: new DrizzleUserRepository(own.db), dispose: () => own.close() }
  })

  it('the cloned database is migrated and ping() answers', async () => {
    expect(handle.driver).toBe('neon-serverless')
    await handle.ping()
    const { rows } = await observer.query(
      'select count(*)::int as n from drizzle.__drizzle_migrations'
    )
    expect(rows[0].n).toBeGreaterThanOrEqual(1)
  })

  it('handles pipelineConnect: the default pipelined login fails here, the pool connects', async () => {
    // Neon's default sends a cleartext password before the server asks; trust/scram servers
    // reject that. createDatabase sets pipelineConnect=false on its own clients only.
    const naive = new Client(testDb.url)
    naive.neonConfig.wsProxy = (host, port) => `${proxy.address}/v2?address=${host}:${port}`
    naive.neonConfig.useSecureWebSocket = false
    naive.on('error', () => {})
    const naiveQuery = async () => {
      await naive.connect() // may resolve before the server objects to the early password
      await naive.query('select 1')
    }
    await expect(naiveQuery()).rejects.toThrow()
    // Not awaited: the bundled pg 8.8 Client.end() never settles once its socket has closed.
    naive.end().catch(() => {})

    const { rows } = await handle.db.execute(sql`select current_database() as db`)
    expect(rows).toEqual([{ db: testDb.name }])
    expect(neonConfig.pipelineConnect).toBe('password') // the global config is untouched
    expect(neonConfig.useSecureWebSocket).toBe(true)
  })

  it('an interactive transaction commits atomically', async () => {
    const phone = '15500000001'
    const count = async () =>
      (await observer.query('select count(*)::int as n from users where phone = $1', [phone]))
        .rows[0].n
    const id = await handle.db.transaction(async (tx) => {
      const [row] = await tx.insert(users).values({ phone, nickname: 'tx' }).returning()
      // Visible inside the transaction, invisible to everyone else until commit.
      expect(await tx.select().from(users).where(eq(users.phone, phone))).toHaveLength(1)
      expect(await count()).toBe(0)
      return row!.id
    })
    expect(await count()).toBe(1)
    expect(typeof id).toBe('bigint')
  })

  it('a thrown error rolls the transaction back and propagates', async () => {
    const phone = '15500000002'
    const failure = handle.db.transaction(async (tx) => {
      await tx.insert(users).values({ phone, nickname: 'rolled back' })
      expect(await tx.select().from(users).where(eq(users.phone, phone))).toHaveLength(1)
      throw new Error('boom')
    })
    await expect(failure).rejects.toThrow('boom')
    const { rows } = await observer.query('select count(*)::int as n from users where phone = $1', [
      phone,
    ])
    expect(rows[0].n).toBe(0)
    await handle.ping() // the connection went back to the pool usable
  })

  it('close() does not hang when a connection dies as a transaction begins', async () => {
    // drizzle's neon-serverless transaction() never releases its pooled client if BEGIN fails;
    // a plain pool.end() would then wait forever. A middlebox cuts the link when it sees BEGIN.
    const target = new URL(testDb.url)
    const cut = createServer((client) => {
      const server = connect(Number(target.port), target.hostname)
      client.on('data', (chunk) => {
        if (chunk.includes('begin')) {
          client.destroy()
          server.destroy()
        } else server.write(chunk)
      })
      server.on('data', (chunk) => client.write(chunk))
      for (const s of [client, server]) {
        s.on('error', () => {})
        s.on('close', () => (s === client ? server : client).destroy())
      }
    })
    cut.listen(0, '127.0.0.1')
    await once(cut, 'listening')
    const url = new URL(testDb.url)
    url.port = String((cut.address() as { port: number }).port)
    const flaky = await createDatabase({
      driver: 'neon-serverless',
      url: url.toString(),
      localProxy: proxy.address,
    })
    try {
      await flaky.ping() // the link works until a transaction starts
      await expect(flaky.db.transaction(async () => 'never')).rejects.toThrow()
    } finally {
      await flaky.close()
      await new Promise((resolve) => cut.close(resolve))
    }
  }, 10_000)

  it('ping() rejects when the database is unreachable', async () => {
    const closedPort = await unusedPort()
    const dead = await createDatabase({
      driver: 'neon-serverless',
      url: `postgres://postgres@127.0.0.1:${closedPort}/nowhere`,
      localProxy: proxy.address,
    })
    try {
      await expect(dead.ping()).rejects.toThrow()
    } finally {
      await dead.close()
    }
    await handle.ping() // the proxy survived
  })
})

describe('Neon proxy stand-in', () => {
  let proxy: NeonProxy
  let upstream: Server
  let upstreamPort: number
  const accepted: Socket[] = []
  const nextAccepted = () => once(upstream, 'connection').then(([s]) => s as Socket)

  beforeAll(async () => {
    proxy = await startNeonProxy()
    upstream = createServer((socket) => accepted.push(socket))
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    upstreamPort = (upstream.address() as { port: number }).port
  })
  afterAll(async () => {
    for (const s of accepted) s.destroy()
    await new Promise((resolve) => upstream.close(resolve))
    await proxy.close()
  })

  const dial = (query: string) => new WebSocket(`ws://${proxy.address}/v2?${query}`)

  it('binds 127.0.0.1 and reports its address', () => {
    expect(proxy.host).toBe('127.0.0.1')
    expect(proxy.address).toBe(`127.0.0.1:${proxy.port}`)
  })

  it('relays bytes both ways and closes each side when the other closes', async () => {
    const accepting = nextAccepted()
    const ws = dial(`address=127.0.0.1:${upstreamPort}`)
    await once(ws, 'open')
    const tcp = await accepting

    const received = once(tcp, 'data')
    ws.send(Buffer.from('ping'))
    expect((await received)[0].toString()).toBe('ping')

    const message = once(ws, 'message')
    tcp.write('pong')
    const [data, isBinary] = await message
    expect(isBinary).toBe(true)
    expect(data.toString()).toBe('pong')

    const wsClosed = once(ws, 'close')
    tcp.destroy()
    await wsClosed

    const accepting2 = nextAccepted()
    const ws2 = dial(`address=localhost:${upstreamPort}`)
    await once(ws2, 'open')
    const tcp2 = await accepting2
    const tcpClosed = once(tcp2, 'close')
    ws2.close()
    await tcpClosed
  })

  it('refuses bad targets with an HTTP error instead of upgrading, and keeps serving', async () => {
    const status = async (ws: WebSocket) => {
      const [, res] = await once(ws, 'unexpected-response')
      ws.on('error', () => {}) // terminating a handshake reports "closed before established"
      ws.terminate()
      return (res as { statusCode: number }).statusCode
    }
    expect(await status(dial('address=db.example.com:5432'))).toBe(403)
    expect(await status(dial('nothing=here'))).toBe(400)
    expect(await status(dial(`address=127.0.0.1:${await unusedPort()}`))).toBe(502)
    const wrongPath = new WebSocket(`ws://${proxy.address}/v1?address=127.0.0.1:${upstreamPort}`)
    expect(await status(wrongPath)).toBe(404)

    const permissive = await startNeonProxy({ allowAddress: /.*/ })
    try {
      const ws = new WebSocket(`ws://${permissive.address}/v2?address=no-port-here`)
      expect(await status(ws)).toBe(400)
    } finally {
      await permissive.close()
    }

    const accepting = nextAccepted()
    const ws = dial(`address=127.0.0.1:${upstreamPort}`)
    await once(ws, 'open')
    await accepting
    ws.close()
  })

  it('drops the dialled connection when the WebSocket handshake itself is malformed', async () => {
    const accepting = nextAccepted()
    const raw = connect(proxy.port, '127.0.0.1')
    raw.on('error', () => {})
    raw.write(
      `GET /v2?address=127.0.0.1:${upstreamPort} HTTP/1.1\r\nHost: x\r\n` +
        'Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n' // no Sec-WebSocket-Key/Version
    )
    const [reply] = await once(raw, 'data')
    expect(reply.toString()).toMatch(/^HTTP\/1\.1 400 /)
    const tcp = await accepting
    await once(tcp, 'close')
    raw.destroy()
  })

  it('close() cuts open tunnels', async () => {
    const own = await startNeonProxy()
    const accepting = nextAccepted()
    const ws = new WebSocket(`ws://${own.address}/v2?address=127.0.0.1:${upstreamPort}`)
    await once(ws, 'open')
    const tcp = await accepting
    const closed = Promise.all([once(ws, 'close'), once(tcp, 'close')])
    await own.close()
    await closed
  })
})

/** A loopback port with nothing listening (bound, then released). */
async function unusedPort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
