import { createClient } from 'redis'
import type { TestProject } from 'vitest/node'
import { type RedisCluster, startRedisCluster } from '../stack/redis-cluster.ts'
import { prepareTemplateDatabase } from './db-admin.ts'
import { ADMIN_DATABASE_URL, REDIS_URL, type Services } from './services.ts'

async function probeRedis(): Promise<string | null> {
  const client = createClient({
    url: REDIS_URL,
    socket: { connectTimeout: 2000, reconnectStrategy: false },
  })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.ping()
    return null
  } catch (e) {
    return (e as Error).message
  } finally {
    if (client.isOpen) await client.quit()
  }
}

/**
 * Runs once per test run (in Node): probes Redis and Postgres, migrates a template database, and
 * hands the result to test files through `inject('services')`. A missing service makes the suites
 * that need it skip with a printed notice, except under CI=true where it fails the run.
 */
export default async function setup(project: TestProject) {
  const ci = process.env.CI === 'true'
  const redisError = await probeRedis()
  let template: string | null = null
  let pgError: string | null = null
  try {
    template = await prepareTemplateDatabase(ADMIN_DATABASE_URL)
  } catch (e) {
    pgError = (e as Error).message
  }
  const missing = [
    redisError && `Redis at ${REDIS_URL}: ${redisError}`,
    pgError && `PostgreSQL at ${ADMIN_DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}: ${pgError}`,
  ].filter(Boolean)
  if (missing.length > 0) {
    const text = `service unavailable:\n  ${missing.join('\n  ')}`
    if (ci) throw new Error(`[harness] CI=true and a ${text}`)
    console.warn(`\n[harness] NOTICE: ${text}\n[harness] suites that need it are SKIPPED.\n`)
  }
  // A real 3-master Redis Cluster (TCP transport suites); printed and skipped when it can't start.
  let cluster: RedisCluster | null = null
  if (!redisError) {
    const started = performance.now()
    try {
      cluster = await startRedisCluster()
      console.info(`[harness] redis cluster up in ${Math.round(performance.now() - started)} ms`)
    } catch (e) {
      if (ci) throw new Error(`[harness] CI=true and no Redis Cluster: ${(e as Error).message}`)
      console.warn(
        `[harness] NOTICE: no Redis Cluster (${(e as Error).message}); its suites are SKIPPED.`
      )
    }
  }
  const services: Services = {
    redis: !redisError,
    postgres: !pgError,
    redisCluster: cluster?.url ?? null,
    templateDatabase: template,
  }
  project.provide('services', services)
  return async () => {
    await cluster?.stop()
  }
}
