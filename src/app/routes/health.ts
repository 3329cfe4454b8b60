import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppEnv } from '../http/env.ts'
import { problem, problemResponse } from '../http/problem.ts'
import { validationHook } from '../http/validation.ts'

const PROBE_TIMEOUT_MS = 2_000

const CheckSchema = z.object({
  status: z.enum(['up', 'down']),
  adapter: z.string().openapi({ example: 'upstash' }),
  latencyMs: z.number().int(),
  error: z.string().optional(),
})

const HealthSchema = z
  .object({
    status: z.literal('ok'),
    checks: z.record(z.string(), CheckSchema),
  })
  .openapi('Health')

const route = createRoute({
  method: 'get',
  path: '/health',
  tags: ['system'],
  summary: 'Liveness and dependency status',
  description:
    'Pings every dependency (redis, database, queue) with a 2 s timeout. 200 when all answer, 503 problem+json (with the same `checks`) when any is down.',
  responses: {
    200: {
      description: 'All dependencies up',
      content: { 'application/json': { schema: HealthSchema } },
    },
    503: problemResponse('A dependency is down'),
  },
})

export const health = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(
  route,
  async (c) => {
    const { probes } = c.var.deps
    const results = await Promise.all(
      probes.map(async (probe) => {
        const started = performance.now()
        try {
          await withTimeout(probe.check(), PROBE_TIMEOUT_MS)
          return [
            probe.name,
            { status: 'up', adapter: probe.adapter, latencyMs: ms(started) },
          ] as const
        } catch (e) {
          const error = e instanceof Error ? e.message : String(e)
          return [
            probe.name,
            { status: 'down', adapter: probe.adapter, latencyMs: ms(started), error },
          ] as const
        }
      })
    )
    const checks = Object.fromEntries(results)
    const down = results.filter(([, r]) => r.status === 'down').map(([name]) => name)
    if (down.length > 0) {
      return problem(c, 503, 'DEPENDENCY_UNAVAILABLE', 'A dependency is down', {
        detail: `down: ${down.join(', ')}`,
        checks,
      }) as never
    }
    return c.json({ status: 'ok' as const, checks }, 200)
  }
)

function ms(started: number): number {
  return Math.round(performance.now() - started)
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}
