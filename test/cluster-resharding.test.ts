/**
 * Resharding a live Redis Cluster under load: a slot holding the keys under test is migrated from
 * master to master (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE one key at a time, SETSLOT NODE)
 * while transactions, pipelines, scripts — and, end to end, purchases and order transitions — run
 * on it through the TCP transport. Fault model: the slot's owner changes under every kind of
 * request (MOVED), its keys are half moved (ASK; TRYAGAIN for multi-key commands), the client's
 * slot map is stale. Nobody sees an error; nothing is lost or applied twice. Each suite owns its
 * slot (a hash tag no other key uses) and puts it back where it was.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { redisCall } from '../src/adapters/upstash/client.ts'
import { openTcpRedis, type TcpRedis } from '../src/adapters/upstash/tcp.ts'
import { DependencyUnavailable } from '../src/domain/errors.ts'
import { startTestApp, type TestApp } from './harness/app.ts'
import { uniquePrefix } from './harness/redis.ts'
import {
  type ClusterNode,
  openResharding,
  type Resharding,
  runWhileMoving,
} from './harness/resharding.ts'
import { saleHelpers } from './harness/seckill.ts'
import { deleteEverywhere } from './harness/transports.ts'
import { makeUsers, type TestUser } from './harness/users.ts'

const services = inject('services')
const clusterUrl = services.redisCluster

/**
 * Three moves that visit every master and end where the slot started. `halfway(i)` runs (not
 * awaited) right after move i has moved its first key: whatever it sends meets the slot half
 * migrated, and cannot complete before the move does if it needs TRYAGAIN retries.
 */
function tour(r: Resharding, home: ClusterNode, slot: number, halfway?: (move: number) => void) {
  const others = r.nodes.filter((n) => n !== home)
  return [...others, home].map((to, i) => () => {
    let first = true
    return r.migrate(slot, to, () => {
      if (first) halfway?.(i)
      first = false
    })
  })
}

const delta = (
  a: Awaited<ReturnType<Resharding['redirections']>>,
  b: Awaited<ReturnType<Resharding['redirections']>>
) => ({ MOVED: b.MOVED - a.MOVED, ASK: b.ASK - a.ASK, TRYAGAIN: b.TRYAGAIN - a.TRYAGAIN })

describe.skipIf(!clusterUrl)('TCP transport on a slot being resharded', () => {
  const prefix = uniquePrefix('reshard')
  let r: Resharding
  let tcp: TcpRedis
  let slot: number
  let tag: string
  let home: ClusterNode

  beforeAll(async () => {
    r = await openResharding(clusterUrl!)
    ;({ tag, slot } = await r.freeSlotTag((i) => `${prefix}${i}`))
    home = await r.ownerOf(slot)
    tcp = await openTcpRedis({ url: clusterUrl! })
  })
  afterAll(async () => {
    await r?.restore(slot, home)
    await deleteEverywhere('cluster', prefix)
    await tcp?.close()
    await r?.close()
  })

  it('MULTI/EXEC, pipelines and multi-key scripts: no error, each applied exactly once', async () => {
    const redis = tcp.redis
    const k = (name: string) => `${prefix}{${tag}}:${name}`
    // Filler keys, so the slot spends several steps half migrated.
    await Promise.all(Array.from({ length: 20 }, (_, i) => redis.set(k(`fill${i}`), i)))
    const before = await r.redirections()
    type Ran = { kind: 'multi' | 'pipeline' | 'script'; ok: boolean; detail?: unknown }
    const tasks = Array.from({ length: 450 }, (_, i) => async (): Promise<Ran> => {
      try {
        if (i % 3 === 0) {
          // Atomic: both counters move together, or neither does.
          const [a, b] = await redis.multi().incr(k('tx:a')).incr(k('tx:b')).exec()
          return { kind: 'multi', ok: a === b, detail: [a, b] }
        }
        if (i % 3 === 1) {
          const [n, added] = await redis.pipeline().incr(k('p:n')).sadd(k('p:set'), i).exec()
          return { kind: 'pipeline', ok: typeof n === 'number' && added === 1 }
        }
        // Two keys in one script: TRYAGAIN while they are on different nodes.
        const n = await redis.eval<string[], number>(
          "redis.call('INCR', KEYS[2]); return redis.call('INCR', KEYS[1])",
          [k('s:a'), k('s:b')],
          []
        )
        return { kind: 'script', ok: typeof n === 'number' }
      } catch (e) {
        return { kind: 'multi', ok: false, detail: String(e) }
      }
    })
    // Sent while a move is half done, on keys that do not exist yet: ASK (or TRYAGAIN) for sure.
    const halfway: Promise<unknown>[] = []
    const ran = await runWhileMoving(
      tasks,
      12,
      tour(r, home, slot, (i) => {
        halfway.push(
          redis
            .multi()
            .incr(k(`new${i}:a`))
            .incr(k(`new${i}:b`))
            .exec(),
          redis
            .pipeline()
            .incr(k(`new${i}:p`))
            .incr(k(`new${i}:p`))
            .exec(),
          redis.eval(
            "return redis.call('INCR', KEYS[1]) + redis.call('INCR', KEYS[2])",
            [k(`new${i}:s`), k(`new${i}:a`)],
            []
          )
        )
      })
    )
    const replies = await Promise.allSettled(halfway)
    expect(ran.filter((x) => !x.ok)).toEqual([])
    expect(replies.filter((x) => x.status === 'rejected')).toEqual([])
    // Each ran exactly once: the script's INCR of :a came before or after the transaction's.
    for (const i of [0, 1, 2]) {
      expect(replies[3 * i + 1]).toEqual({ status: 'fulfilled', value: [1, 2] })
      expect(await redis.mget(k(`new${i}:a`), k(`new${i}:b`), k(`new${i}:s`))).toEqual([2, 1, 1])
    }
    expect(await r.ownerOf(slot)).toBe(home)
    const count = (kind: Ran['kind']) => ran.filter((x) => x.kind === kind).length
    expect(await redis.mget(k('tx:a'), k('tx:b'))).toEqual([count('multi'), count('multi')])
    expect(await redis.get(k('p:n'))).toBe(count('pipeline'))
    expect(await redis.scard(k('p:set'))).toBe(count('pipeline'))
    expect(await redis.mget(k('s:a'), k('s:b'))).toEqual([count('script'), count('script')])
    // The moves really did redirect requests (the masters count the errors they answered).
    const seen = delta(before, await r.redirections())
    expect(seen.MOVED).toBeGreaterThan(0)
    expect(seen.ASK + seen.TRYAGAIN).toBeGreaterThan(0)
  })

  it('a slot stuck half migrated: TRYAGAIN for the retry budget, then a 503, nothing applied', async () => {
    const k = (name: string) => `${prefix}{${tag}}:stuck:${name}`
    const impatient = await openTcpRedis({ url: clusterUrl!, tryAgainMs: 50 })
    try {
      await tcp.redis.mset({ [k('a')]: 1, [k('b')]: 1 })
      const to = r.nodes.find((n) => n !== home)!
      await to.client.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', home.id])
      await home.client.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id])
      await home.client.sendCommand([
        'MIGRATE',
        '127.0.0.1',
        String(to.port),
        '',
        '0',
        '10000',
        'KEYS',
        k('a'),
      ])
      const before = await r.redirections()
      const tx = redisCall(() => impatient.redis.multi().incr(k('a')).incr(k('b')).exec())
      await expect(tx).rejects.toBeInstanceOf(DependencyUnavailable)
      const script = redisCall(() =>
        impatient.redis.eval(
          "return redis.call('INCR', KEYS[1]) + redis.call('INCR', KEYS[2])",
          [k('a'), k('b')],
          []
        )
      )
      await expect(script).rejects.toBeInstanceOf(DependencyUnavailable)
      // Both were retried (one TRYAGAIN each would mean no retry at all).
      expect(delta(before, await r.redirections()).TRYAGAIN).toBeGreaterThan(2)
    } finally {
      await impatient.close()
      await r.restore(slot, home)
    }
    // Neither was applied; the keys are whole again, on their home node.
    expect(await tcp.redis.mget(k('a'), k('b'))).toEqual([1, 1])
  })
})

describe.skipIf(!clusterUrl || !services.postgres)(
  'a flash sale resharded mid-sale [cluster]',
  () => {
    const ADMIN = 'reshard-test-admin-token'
    let app: TestApp
    let r: Resharding
    let slot: number
    let home: ClusterNode
    let voucherId: string
    const { createSale, grab, state, reconcile } = saleHelpers(() => app, ADMIN)

    beforeAll(async () => {
      r = await openResharding(clusterUrl!)
      app = await startTestApp('cluster', {
        env: {
          ADMIN_TOKEN: ADMIN,
          SEED_DEMO_DATA: 'true',
          SECKILL_USER_LIMIT: 'off',
          SECKILL_GLOBAL_LIMIT: 'off',
        },
      })
      // A sale's keys share the hash tag {<voucher id>}: the next voucher id is one whose slot no
      // other key uses (other suites' sales are 1, 2, 3… in databases of their own).
      const base = 8_000_000_000 + Math.floor(Math.random() * 1_000_000_000)
      ;({ tag: voucherId, slot } = await r.freeSlotTag((i) => String(base + i)))
      const db = new pg.Client({ connectionString: app.databaseUrl })
      await db.connect()
      await db.query(`select setval('vouchers_id_seq', $1, false)`, [voucherId])
      await db.end()
      home = await r.ownerOf(slot)
    })
    afterAll(async () => {
      if (r && home) await r.restore(slot, home)
      await app?.close()
      await r?.close()
    })

    it('purchases, then pay/cancel, while the sale slot tours the masters: exact stock, nobody twice', async () => {
      const sale = await createSale({ stock: 100 })
      expect(sale.id).toBe(voucherId)
      const users = await makeUsers(app, 303)
      const buyers = [...users.slice(0, 300), ...users.slice(0, 100)].sort(
        () => Math.random() - 0.5
      )
      const before = await r.redirections()
      const purchase = async (u: TestUser) => {
        const res = await grab(sale.id, u.token)
        return { user: u, status: res.status, body: await res.json() }
      }

      // 400 purchases from 300 users (100 of them twice) while the slot moves three times, and one
      // more (a user of its own) sent each time the slot is half migrated.
      const halfway: ReturnType<typeof purchase>[] = []
      const bought = await runWhileMoving(
        buyers.map((u) => () => purchase(u)),
        16,
        tour(r, home, slot, (i) => halfway.push(purchase(users[300 + i]!)))
      )
      bought.push(...(await Promise.all(halfway)))
      expect(bought).toHaveLength(403)
      expect(bought.filter((b) => b.status !== 202 && b.status !== 409)).toEqual([])
      const accepted = bought.filter((b) => b.status === 202)
      expect(accepted).toHaveLength(100)
      expect(new Set(accepted.map((b) => b.user.id)).size).toBe(100)
      expect(new Set(bought.filter((b) => b.status === 409).map((b) => b.body.code))).toEqual(
        new Set(['SOLD_OUT', 'ALREADY_PURCHASED'])
      )
      await app.settle()

      // Transitions (Lua on the same keys): half the buyers pay, half cancel, while it moves again.
      const settled = await runWhileMoving(
        accepted.map((b, i) => async () => {
          const action = i % 2 === 0 ? 'pay' : 'cancel'
          const res = await app.fetch(`/orders/${b.body.orderId}/${action}`, {
            method: 'POST',
            token: b.user.token,
          })
          return { action, status: res.status, body: await res.json() }
        }),
        16,
        tour(r, home, slot)
      )
      expect(settled.filter((s) => s.status !== 200)).toEqual([])
      await app.settle()

      const { ledger, dbStock, orders } = await state(sale.id)
      expect(orders).toHaveLength(100)
      expect(new Set(orders.map((o) => o.userId)).size).toBe(100)
      expect(orders.filter((o) => o.status === 'paid')).toHaveLength(50)
      expect(orders.filter((o) => o.status === 'cancelled')).toHaveLength(50)
      // Each cancel returned its unit exactly once, in Redis and in Postgres.
      expect(dbStock).toBe(50)
      expect(ledger).toMatchObject({ stock: 50 })
      expect((await reconcile(sale.id)).drift).toBe(false)
      expect(await r.ownerOf(slot)).toBe(home)
      const seen = delta(before, await r.redirections())
      expect(seen.MOVED).toBeGreaterThan(0)
      expect(seen.ASK + seen.TRYAGAIN).toBeGreaterThan(0)
    })
  }
)
