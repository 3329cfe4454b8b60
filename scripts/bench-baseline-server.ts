/**
 * The seckill benchmark's baseline (run by scripts/bench-seckill.ts in its own process): a bare
 * node:http handler running lua/seckill-reserve.lua with EVALSHA over a direct TCP Redis client —
 * no session, no rate limit, no queue, no REST hop. Prints its port on stdout.
 *
 * Env: REDIS_URL, BASELINE_KEYS (the five sale keys, comma-separated). Stops on SIGTERM or, when
 * forked, when the parent disconnects.
 */
import { createServer } from 'node:http'
import { createClient } from 'redis'
import { scripts } from '../src/adapters/upstash/scripts.gen.ts'

const redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' })
await redis.connect()
await redis.scriptLoad(scripts.seckillReserve.source)
const keys = String(process.env.BASELINE_KEYS).split(',')
let seq = 0

const server = createServer((req, res) => {
  const orderId = `${Date.now()}${String(seq++ % 1e6).padStart(6, '0')}`
  redis
    .evalSha(scripts.seckillReserve.sha1, {
      keys,
      arguments: [String(req.headers['x-user']), orderId, String(Date.now()), '', '604800000'],
    })
    .then((r) => {
      const code = (r as unknown[])[0]
      res.writeHead(code === 0 ? 202 : 409, { 'content-type': 'application/json' })
      res.end(JSON.stringify(code === 0 ? { orderId, status: 'pending' } : { code }))
    })
    .catch(() => {
      res.writeHead(503)
      res.end()
    })
})
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  console.log(port)
  process.send?.({ ready: port, pid: process.pid }) // when forked (scripts/bench-seckill.ts)
})
process.once('disconnect', () => {
  server.close()
  void redis.quit()
})
process.once('SIGTERM', () => {
  server.close()
  void redis.quit()
})
