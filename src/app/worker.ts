/**
 * Cloudflare Workers entry: `fetch` serves the app, `scheduled` runs the periodic jobs. Adapters
 * come from the Worker's vars/secrets; the Neon pool is opened per request and closed through
 * waitUntil.
 */
import type { ExecutionContext } from 'hono'
import { createApp } from './app.ts'
import { ConfigError } from './config.ts'
import { type Container, createContainer, type TopicFactory } from './deps.ts'
import { type Job, runJobs } from './jobs.ts'
import { appJobs, appTopics } from './modules.ts'

// The live hub Durable Object (binding LIVE_HUB): one broker subscription per hub object, shared by
// every SSE stream of its channels (see live-hub.ts).
export { LiveHub } from './live-hub.ts'

/** The subset of Cloudflare's ScheduledController the handler reads. */
export interface ScheduledEvent {
  cron: string
  scheduledTime: number
}

export interface WorkerModules {
  topics: TopicFactory
  jobs: readonly Job[]
}

export function createWorker(modules: WorkerModules) {
  let booted: Promise<{ container: Container; app: ReturnType<typeof createApp> }> | undefined
  const boot = (env: Record<string, unknown>) => {
    booted ??= createContainer(
      env,
      { databasePerRequest: true, requireCloudServices: true, subscriptionsPerRequest: true },
      { topics: modules.topics }
    ).then((container) => ({ container, app: createApp(container) }))
    return booted
  }
  return {
    async fetch(request: Request, env: Record<string, unknown>, ctx: ExecutionContext) {
      try {
        const { app } = await boot(env)
        return app.fetch(request, env, ctx)
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e
        return Response.json(
          {
            type: 'urn:problem:CONFIG_INVALID',
            title: 'The service is misconfigured',
            status: 500,
            code: 'CONFIG_INVALID',
            errors: e.problems.map((message) => ({ path: 'env', message })),
          },
          { status: 500, headers: { 'content-type': 'application/problem+json' } }
        )
      }
    },
    async scheduled(event: ScheduledEvent, env: Record<string, unknown>, ctx: ExecutionContext) {
      const { container } = await boot(env)
      ctx.waitUntil(runJobs(container, modules.jobs, event.cron))
    },
  }
}

export default createWorker({ topics: appTopics, jobs: appJobs })
