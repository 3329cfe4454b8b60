import { createClient } from 'redis'
import { REDIS_URL } from './services.ts'

/** A unique key prefix for one test file (or one test); every Redis key a test writes carries it. */
export function uniquePrefix(label = 't'): string {
  return `test:${label}:${crypto.randomUUID().slice(0, 8)}:`
}

/** A direct TCP client to the test Redis, for assertions and cleanup (not the code under test). */
export async function directRedis(url = REDIS_URL) {
  const client = createClient({ url, RESP: 2 })
  client.on('error', () => {})
  await client.connect()
  return client
}

export type DirectRedis = Awaited<ReturnType<typeof directRedis>>

/** Deletes every key that starts with `prefix` (one key per command: fine on a cluster node). */
export async function deleteByPrefix(client: DirectRedis, prefix: string): Promise<number> {
  let deleted = 0
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    const counts = await Promise.all(keys.map((key) => client.unlink(key)))
    deleted += counts.reduce((a, b) => a + b, 0)
  }
  return deleted
}
