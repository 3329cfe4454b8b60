/**
 * The part of `cloudflare:test` (@cloudflare/vitest-plugin, inside workerd) this suite uses, typed
 * for the project's Node/DOM tsconfig (the plugin's own declarations need @cloudflare/workers-types
 * as the global environment instead).
 */
declare module 'cloudflare:test' {
  import type { ExecutionContext } from 'hono'

  /** The Worker's bindings (vars and secrets). */
  export const env: Record<string, string>
  /** The `main` Worker's default export, in this isolate. */
  export const SELF: { fetch(url: string, init?: RequestInit): Promise<Response> }
  export function createExecutionContext(): ExecutionContext
  /** Resolves once everything handed to `ctx.waitUntil` has settled. */
  export function waitOnExecutionContext(ctx: ExecutionContext): Promise<void>
  export function createScheduledController(options?: {
    scheduledTime?: number | Date
    cron?: string
  }): { scheduledTime: number; cron: string; noRetry(): void }
}
