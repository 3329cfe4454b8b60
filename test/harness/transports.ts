import { afterAll, beforeAll, describe, inject } from 'vitest'
import type { Redis } from '../../src/adapters/upstash/client.ts'
import { openTcpRedis, parseRedisUrl, type TcpRedis } from '../../src/adapters/upstash/tcp.ts'
import { deleteByPrefix, directRedis, uniquePrefix } from './redis.ts'
import { REDIS_URL } from './services.ts'

/** Redis over TCP: the Upstash adapters on the RESP transport (src/adapters/upstash/tcp.ts). */
export interface TcpTransport {
  /** 'tcp' (one Redis) or 'cluster' (the 3-master cluster of the global setup). */
  readonly name: 'tcp' | 'cluster'
  /** Every key the suite writes starts with it (deleted afterwards on every node). */
  readonly prefix: string
  /** The JSON-deserializing client (the SDK default); shared by the suite. */
  client(): Redis
  /** The raw-replies client, on the same connection. */
  raw(): Redis
}

/** The TCP transports available in this run: one Redis, plus the cluster when it runs. */
export function tcpTransportNames(): TcpTransport['name'][] {
  const services = inject('services')
  if (!services.redis) return []
  return services.redisCluster ? ['tcp', 'cluster'] : ['tcp']
}

/** REDIS_URL of a TCP transport. */
export function tcpRedisUrl(name: TcpTransport['name']): string {
  return name === 'tcp' ? REDIS_URL : clusterUrl()
}

/**
 * Runs `body` once per TCP transport, in a describe of its own that opens the transport before
 * and, after, deletes every key under its prefix (on every cluster master) and closes it. Contract
 * suites take the transport's name as their adapter label.
 */
export function forEachTcpTransport(title: string, body: (t: TcpTransport) => void): void {
  for (const name of tcpTransportNames()) {
    describe(`${title} over TCP [${name}]`, () => {
      let tcp: TcpRedis | undefined
      const transport: TcpTransport = {
        name,
        prefix: uniquePrefix(`${title}-${name}`),
        client: () => tcp!.redis,
        raw: () => tcp!.raw,
      }
      beforeAll(async () => {
        tcp = await openTcpRedis({ url: tcpRedisUrl(name) })
      })
      afterAll(async () => {
        await deleteEverywhere(name, transport.prefix)
        await tcp?.close()
      })
      body(transport)
    })
  }
}

function clusterUrl(): string {
  return inject('services').redisCluster!
}

/** Deletes every key under `prefix` on the single Redis or on every cluster master. */
export async function deleteEverywhere(name: TcpTransport['name'], prefix: string): Promise<void> {
  const urls = name === 'cluster' ? parseRedisUrl(clusterUrl()).nodes : [REDIS_URL]
  for (const url of urls) {
    const direct = await directRedis(url)
    await deleteByPrefix(direct, prefix)
    await direct.quit()
  }
}
