/**
 * A real Redis Cluster from the installed `redis-server` (no Docker): N masters, no replicas, on
 * ephemeral ports (client and cluster-bus ports both picked free), data in a temporary directory,
 * nothing persisted. Used by the test global setup, `npm run stack -- --cluster` and the benchmarks.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from 'redis'
import { freePort } from '../harness/net.ts'

export interface RedisCluster {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…` (REDIS_URL for the app's TCP transport). */
  url: string
  ports: number[]
  /** The redis-server processes' ids (benchmarks read their CPU time from /proc). */
  pids: number[]
  stop(): Promise<void>
}

const SLOTS = 16384
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 20_000
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`redis cluster: timed out waiting for ${what}`)
    await sleep(50) // polling an external process, not synchronizing test code
  }
}

export async function startRedisCluster(
  options: { masters?: number; bin?: string } = {}
): Promise<RedisCluster> {
  const n = options.masters ?? 3
  const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'))
  const ports: number[] = []
  const busPorts: number[] = []
  for (let i = 0; i < n; i++) {
    ports.push(await freePort())
    busPorts.push(await freePort())
  }
  const procs: ChildProcess[] = ports.map((port, i) =>
    spawn(
      options.bin ?? 'redis-server',
      [
        ...['--port', String(port), '--cluster-port', String(busPorts[i]), '--bind', '127.0.0.1'],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
        ...['--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
        ...['--loglevel', 'warning', '--cluster-node-timeout', '5000'],
      ],
      { stdio: 'ignore' }
    )
  )
  const stop = async () => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve()
            p.once('exit', () => resolve())
            p.kill('SIGKILL')
          })
      )
    )
    await rm(dir, { recursive: true, force: true })
  }
  const clients = ports.map((port) => {
    const c = createClient({ url: `redis://127.0.0.1:${port}`, RESP: 2 })
    c.on('error', () => {})
    return c
  })
  try {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve, reject) => {
            p.once('error', reject)
            p.once('spawn', () => resolve())
          })
      )
    )
    for (const c of clients) await until('redis-server to listen', () => c.connect().then(() => 1))
    // Slots split evenly; every node meets the first; then wait for everyone to agree.
    for (const [i, c] of clients.entries()) {
      const from = Math.floor((SLOTS * i) / n)
      const to = Math.floor((SLOTS * (i + 1)) / n) - 1
      await c.sendCommand(['CLUSTER', 'ADDSLOTSRANGE', String(from), String(to)])
    }
    for (const [i, c] of clients.entries()) {
      if (i > 0)
        await c.sendCommand(['CLUSTER', 'MEET', '127.0.0.1', String(ports[0]), String(busPorts[0])])
    }
    for (const c of clients) {
      await until('cluster_state:ok', async () => {
        const info = String(await c.sendCommand(['CLUSTER', 'INFO']))
        const known = /cluster_known_nodes:(\d+)/.exec(info)?.[1]
        return info.includes('cluster_state:ok') && Number(known) === n ? true : undefined
      })
    }
  } catch (e) {
    await stop()
    throw e
  } finally {
    await Promise.all(clients.map((c) => (c.isOpen ? c.close() : undefined)))
  }
  return {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    ports,
    pids: procs.map((p) => p.pid!),
    stop,
  }
}
