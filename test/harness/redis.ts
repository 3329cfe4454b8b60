import { createClient } from 'redis'
import { REDIS_URL } from './services.ts'

/** A unique key prefix for one test file (or one test); every Redis key a test writes carries it. */
export function uniquePrefix(label = 't'): string {
  return `test:${label}:${crypto.randomUUID().slice(0, 8)}:`
}

/** A direct TCP client to the test Redis, for assertions and cleanup (not the code under test). */
export async function directRedis() {
  const client = createClient({ url: REDIS_URL, RESP: 2 })
  client.on('error', () => {})
  await client.connect()
  return client
}

export type DirectRedis = Awaited<ReturnType<typeof directRedis>>

/** Deletes every key that starts with `prefix`. */
export async function deleteByPrefix(client: DirectRedis, prefix: string): Promise<number> {
  let deleted = 0
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    if (keys.length > 0) deleted += await client.del(keys)
  }
  return deleted
}
