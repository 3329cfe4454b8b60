import type { Container, Deps } from './deps.ts'
import { errorFields } from './log.ts'

/** A periodic job (Workers cron trigger, or a timer on Node). Must be safe to run concurrently with itself. */
export interface Job {
  name: string
  run(deps: Deps): Promise<unknown>
}

/** Runs every job in its own scope; one failing job does not stop the others. */
export async function runJobs(container: Container, jobs: readonly Job[], trigger: string) {
  await Promise.all(
    jobs.map(async (job) => {
      const scope = await container.scope()
      const started = performance.now()
      try {
        const result = await job.run(scope.deps)
        container.log.info('job done', {
          job: job.name,
          trigger,
          ms: Math.round(performance.now() - started),
          result,
        })
      } catch (e) {
        container.log.error('job failed', { job: job.name, trigger, ...errorFields(e) })
      } finally {
        await scope.finish()
      }
    })
  )
}
