/**
 * Benchmark child: the app on every core, as `npm start` runs it with external Redis and Postgres —
 * a `node:cluster` primary (`startCluster`, src/app/node-cluster.ts) forking WEB_CONCURRENCY
 * workers, each a full server (`startNodeServer`) on the shared PORT. Periodic jobs are off, as in
 * scripts/bench/app-child.ts. Setup and audits go through an app-child on the same Redis and
 * database; this process only serves.
 *
 * Message out (primary), once every worker listens: { ready: url, pid } — the primary's pid; its
 * workers are its child processes. Disconnecting stops the primary, which stops the workers.
 * Env: the app's environment, with REDIS_URL, DATABASE_URL, PORT and WEB_CONCURRENCY.
 */
import cluster from 'node:cluster'
import { startNodeServer } from '../../src/app/node.ts'
import { startCluster, workerCount } from '../../src/app/node-cluster.ts'

const env = process.env
if (cluster.isPrimary) {
  const n = workerCount(env)
  let listening = 0
  cluster.on('listening', () => {
    if (++listening === n) {
      process.send!({ ready: `http://127.0.0.1:${env.PORT}`, pid: process.pid })
    }
  })
  if (!startCluster(env)) {
    throw new Error('not a cluster: set WEB_CONCURRENCY > 1, REDIS_URL and DATABASE_URL')
  }
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'))
} else {
  const server = await startNodeServer({
    port: Number(env.PORT),
    hostname: '127.0.0.1',
    jobsEveryMs: 0,
  })
  process.once('SIGTERM', async () => {
    await server.close()
    process.exit(0)
  })
}
