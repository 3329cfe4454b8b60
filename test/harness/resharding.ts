/**
 * Live resharding of the test Redis Cluster, the way `redis-cli --cluster reshard` does it: CLUSTER
 * SETSLOT IMPORTING on the target, MIGRATING on the source, MIGRATE the slot's keys (here one key
 * per MIGRATE, so the slot spends as long as possible half moved), then SETSLOT NODE on every
 * master (target first). The cluster is shared by parallel test files: callers only move a slot
 * they own (`freeSlotTag`), and every key in it is moved, so nothing is lost even if another key
 * happened to hash there.
 */
import { parseRedisUrl } from '../../src/adapters/upstash/tcp.ts'
import { type DirectRedis, directRedis } from './redis.ts'

export interface ClusterNode {
  id: string
  port: number
  client: DirectRedis
}

export interface Resharding {
  nodes: ClusterNode[]
  /** The slot of a key (CLUSTER KEYSLOT). */
  slotOf(key: string): Promise<number>
  /** The master serving `slot`, as the nodes agree after our SETSLOT NODE. */
  ownerOf(slot: number): Promise<ClusterNode>
  /**
   * A hash tag `{<make(i)>}` whose slot holds no key and has no migration in progress (so the
   * test owns it), and that slot.
   */
  freeSlotTag(make: (attempt: number) => string): Promise<{ tag: string; slot: number }>
  /** Moves `slot` (all its keys) to `to`; `onKey` runs after each key moved. */
  migrate(slot: number, to: ClusterNode, onKey?: () => void): Promise<void>
  /**
   * Leaves `slot` stable on `home` whatever state a failed test left it in: any key elsewhere is
   * migrated to `home`, then every master is told `home` serves it.
   */
  restore(slot: number, home: ClusterNode): Promise<void>
  /** Redirection errors the masters have answered so far (INFO errorstats), summed. */
  redirections(): Promise<{ MOVED: number; ASK: number; TRYAGAIN: number }>
  close(): Promise<void>
}

export async function openResharding(clusterUrl: string): Promise<Resharding> {
  const nodes: ClusterNode[] = []
  for (const url of parseRedisUrl(clusterUrl).nodes) {
    const client = await directRedis(url)
    const id = String(await client.sendCommand(['CLUSTER', 'MYID']))
    nodes.push({ id, port: Number(new URL(url).port), client })
  }
  const first = nodes[0]!.client
  const slotOf = async (key: string) => Number(await first.sendCommand(['CLUSTER', 'KEYSLOT', key]))
  const ownerOf = async (slot: number) => {
    const ranges = (await first.sendCommand(['CLUSTER', 'SLOTS'])) as [
      number,
      number,
      [string, number, string],
    ][]
    const range = ranges.find(([from, to]) => from <= slot && slot <= to)
    const owner = nodes.find((n) => n.id === range?.[2][2])
    if (!owner) throw new Error(`slot ${slot}: no owner among the masters`)
    return owner
  }
  const keysIn = async (node: ClusterNode, slot: number, count: number) =>
    (await node.client.sendCommand([
      'CLUSTER',
      'GETKEYSINSLOT',
      String(slot),
      String(count),
    ])) as string[]
  return {
    nodes,
    slotOf,
    ownerOf,
    async freeSlotTag(make) {
      for (let attempt = 0; attempt < 1000; attempt++) {
        const tag = make(attempt)
        const slot = await slotOf(`{${tag}}`)
        const counts = await Promise.all(
          nodes.map((n) => n.client.sendCommand(['CLUSTER', 'COUNTKEYSINSLOT', String(slot)]))
        )
        const nodesInfo = String(await first.sendCommand(['CLUSTER', 'NODES']))
        const migrating = nodesInfo.includes(`[${slot}-`)
        if (counts.every((c) => Number(c) === 0) && !migrating) return { tag, slot }
      }
      throw new Error('no free slot found')
    },
    async migrate(slot, to, onKey) {
      const from = await ownerOf(slot)
      if (from === to) return
      const s = String(slot)
      await to.client.sendCommand(['CLUSTER', 'SETSLOT', s, 'IMPORTING', from.id])
      await from.client.sendCommand(['CLUSTER', 'SETSLOT', s, 'MIGRATING', to.id])
      for (;;) {
        const keys = await keysIn(from, slot, 1)
        if (keys.length === 0) break
        await from.client.sendCommand([
          ...['MIGRATE', '127.0.0.1', String(to.port), '', '0', '10000', 'KEYS'],
          ...keys,
        ])
        onKey?.()
      }
      for (const node of [to, from, ...nodes.filter((n) => n !== to && n !== from)]) {
        await node.client.sendCommand(['CLUSTER', 'SETSLOT', s, 'NODE', to.id])
      }
    },
    async restore(slot, home) {
      const s = String(slot)
      // Opening the slot fails where it is not needed (already the owner / not the owner).
      const open = (node: ClusterNode, args: string[]) =>
        node.client.sendCommand(['CLUSTER', 'SETSLOT', s, ...args]).catch(() => undefined)
      // A migration away from home, left half done, would make home answer ASK to RESTORE.
      await home.client.sendCommand(['CLUSTER', 'SETSLOT', s, 'STABLE'])
      for (const from of nodes.filter((n) => n !== home)) {
        if ((await keysIn(from, slot, 1)).length === 0) continue
        await open(home, ['IMPORTING', from.id])
        await open(from, ['MIGRATING', home.id])
        for (let keys = await keysIn(from, slot, 100); keys.length > 0; ) {
          await from.client.sendCommand([
            ...['MIGRATE', '127.0.0.1', String(home.port), '', '0', '10000', 'KEYS'],
            ...keys,
          ])
          keys = await keysIn(from, slot, 100)
        }
      }
      for (const node of [home, ...nodes.filter((n) => n !== home)]) {
        await node.client.sendCommand(['CLUSTER', 'SETSLOT', s, 'NODE', home.id])
      }
    },
    async redirections() {
      const total = { MOVED: 0, ASK: 0, TRYAGAIN: 0 }
      for (const n of nodes) {
        const info = String(await n.client.sendCommand(['INFO', 'errorstats']))
        for (const name of Object.keys(total) as (keyof typeof total)[]) {
          total[name] += Number(new RegExp(`errorstat_${name}:count=(\\d+)`).exec(info)?.[1] ?? 0)
        }
      }
      return total
    },
    async close() {
      await Promise.all(nodes.map((n) => n.client.quit()))
    },
  }
}

/**
 * Runs `tasks` (at most `concurrency` in flight) in `moves.length + 1` equal chunks, and `moves`
 * alongside: move i starts once chunk i has completed; the first half of chunk i + 1 runs while it
 * moves, the second half only after the move has completed (so requests meet the slot both half
 * migrated and freshly moved, with the client's slot map stale). Resolves with the results in order.
 */
export async function runWhileMoving<T>(
  tasks: readonly (() => Promise<T>)[],
  concurrency: number,
  moves: readonly (() => Promise<void>)[]
): Promise<T[]> {
  const n = tasks.length
  const bound = (j: number) => Math.floor((j * n) / (moves.length + 1))
  const results: T[] = new Array(n)
  const completed = moves.map(() => {
    let resolve!: () => void
    const promise = new Promise<void>((r) => {
      resolve = r
    })
    return { promise, resolve }
  })
  let next = 0
  let done = 0
  const waiters: { at: number; resolve: () => void }[] = []
  const reached = (at: number) =>
    done >= at ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ at, resolve }))
  const worker = async () => {
    while (next < n) {
      const i = next++
      // Chunk j (from 1) waits for move j - 1 from its second half on.
      const j = Array.from({ length: moves.length + 1 }, (_, c) => c).findLast(
        (c) => bound(c) <= i
      )!
      if (j > 0 && i >= (bound(j) + bound(j + 1)) / 2) await completed[j - 1]!.promise
      results[i] = await tasks[i]!()
      done++
      for (const w of waiters.filter((w) => done >= w.at)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
    }
  }
  const mover = async () => {
    for (const [i, move] of moves.entries()) {
      await reached(bound(i + 1))
      await move()
      completed[i]!.resolve()
    }
  }
  await Promise.all([mover(), ...Array.from({ length: concurrency }, worker)])
  return results
}
