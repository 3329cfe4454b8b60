import { reconcile } from '../domain/seckill/reconcile.ts'
import {
  handlePersist,
  handlePersistDead,
  handleTimeout,
  handleTimeoutDead,
  relayOutbox,
  TOPIC_PERSIST,
  TOPIC_TIMEOUT,
} from '../domain/seckill/seckill.ts'
import { FEED_FANOUT_TOPIC, fanoutConsumer, sweepFanout } from '../domain/social/feed.ts'
import type { TopicFactory } from './deps.ts'
import { socialDeps } from './http/social.ts'
import type { Job } from './jobs.ts'
import { seckillDeps } from './routes/seckill.ts'

/** The app's queue consumers, by topic. Features register theirs here. */
export const appTopics: TopicFactory = (deps) => {
  const seckill = seckillDeps(deps)
  return {
    [TOPIC_PERSIST]: {
      handle: (d) => handlePersist(seckill, d),
      deadLetter: (letter) => handlePersistDead(seckill, letter),
    },
    [TOPIC_TIMEOUT]: {
      handle: (d) => handleTimeout(seckill, d),
      // Retries exhausted: the deadline has passed all the more, so cancel now.
      deadLetter: (letter) => handleTimeoutDead(seckill, letter),
    },
    [FEED_FANOUT_TOPIC]: fanoutConsumer(socialDeps(deps)),
  }
}

/** The app's periodic jobs (run by the Workers cron trigger and the Node timer). */
export const appJobs: readonly Job[] = [
  { name: 'feed-fanout-sweep', run: (deps) => sweepFanout(socialDeps(deps)) },
  { name: 'seckill-relay', run: (deps) => relayOutbox(seckillDeps(deps)) },
  {
    name: 'seckill-reconcile',
    run: async (deps) => {
      const report = await reconcile(seckillDeps(deps), {
        repair: true,
        graceMs: deps.config.seckill.reconcileGraceMs,
      })
      return { sales: report.sales.length, drift: report.drift }
    },
  },
]
