import type { Hook } from '@hono/zod-openapi'
import type { AppEnv } from './env.ts'
import { problem } from './problem.ts'

/** Every route's validation failures become one 400 problem naming each offending field. */
// biome-ignore lint/suspicious/noExplicitAny: the hook is shared by routes of every input type
export const validationHook: Hook<any, AppEnv, any, any> = (result, c) => {
  if (result.success) return
  const errors = result.error.issues.map((issue) => ({
    path: [result.target, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }))
  const fields = errors.map((e) => e.path).join(', ')
  return problem(c, 400, 'VALIDATION_FAILED', 'Request validation failed', {
    detail: `invalid: ${fields}`,
    errors,
  })
}
