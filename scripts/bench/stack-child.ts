/**
 * Benchmark child: the local stand-ins (Upstash gateway → Redis, QStash stand-in, Neon proxy →
 * Postgres) in a process of their own, so their CPU time is measured apart from the app's.
 * Message out first: { ready: env, pid }; in: { id, op: 'idle' } → resolves once QStash has no
 * delivery due.
 * Env: BENCH_REDIS_URL, BENCH_DATABASE_URL.
 */
import { startLocalStack } from '../../test/stack/index.ts'

const stack = await startLocalStack({
  redisUrl: process.env.BENCH_REDIS_URL!,
  databaseUrl: process.env.BENCH_DATABASE_URL!,
})
process.on('message', (msg: { id: number; op: 'idle' }) => {
  stack.qstash.idle().then(() => process.send!({ id: msg.id, result: true }))
})
process.once('disconnect', async () => {
  await stack.close()
  process.exit(0)
})
process.send!({ ready: stack.env, pid: process.pid })
