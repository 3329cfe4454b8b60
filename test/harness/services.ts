/**
 * Where the real services live for tests. Defaults are the local standard ports; override with
 * REDIS_URL / DATABASE_URL. DATABASE_URL must point at a role allowed to CREATE DATABASE: every
 * test file gets a fresh database of its own (see db.ts).
 */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export const ADMIN_DATABASE_URL =
  process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface Services {
  redis: boolean
  postgres: boolean
  /**
   * Seed URL (`redis+cluster://…`) of the 3-master Redis Cluster the global setup started from the
   * installed redis-server; null when it could not be started.
   */
  redisCluster: string | null
  /** Name of the migrated template database test files clone from (null without Postgres). */
  templateDatabase: string | null
}

declare module 'vitest' {
  export interface ProvidedContext {
    services: Services
  }
}
