import type { TopicFactory } from './deps.ts'
import type { Job } from './jobs.ts'

/** The app's queue consumers, by topic. Features register theirs here. */
export const appTopics: TopicFactory = () => ({})

/** The app's periodic jobs (run by the Workers cron trigger and the Node timer). */
export const appJobs: readonly Job[] = []
