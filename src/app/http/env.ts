import type { Deps } from '../deps.ts'

/** Hono environment of the app: per-request dependencies and the request id. */
export type AppEnv = {
  Bindings: Record<string, unknown>
  Variables: { deps: Deps; requestId: string }
}
