/**
 * Benchmark child: the load generator (autocannon) in a process of its own. Sends one POST per
 * value of `values` (each with `header: value`) over `connections` connections, timed on its own
 * clock (performance.now() around the run: autocannon rounds its duration up to whole seconds).
 * In: { url, header, values, connections } once; out: { seconds, requests, codes, p50, p99, max }.
 */
import autocannon from 'autocannon'

interface Job {
  url: string
  header: string
  values: string[]
  connections: number
}

process.once('message', async (job: Job) => {
  let i = 0
  const started = performance.now()
  const result = await autocannon({
    url: job.url,
    connections: Math.min(job.connections, job.values.length),
    amount: job.values.length,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => ({
          ...req,
          headers: { ...req.headers, [job.header]: job.values[i++]! },
        }),
      },
    ],
  })
  const seconds = (performance.now() - started) / 1000
  const codes: Record<string, number> = {}
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {}))
    codes[code] = Number(s.count)
  process.send!({
    seconds,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    codes,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
  })
  process.disconnect()
})
