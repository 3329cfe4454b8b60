/**
 * Benchmark child: the load generator (autocannon) in a process of its own. Either one request per
 * value of `values` (each with `header: value`), or (no values) requests for `seconds`, over
 * `connections` connections, timed on its own clock: from the first request built to the last
 * answer read (autocannon rounds its duration up to whole seconds). With `expectBody`, every answer's body is compared.
 * In: a LoadJob (scripts/bench/common.ts) once; out: a Load.
 */
import autocannon from 'autocannon'
import type { Load, LoadJob } from './common.ts'

process.once('message', async (job: LoadJob) => {
  let i = 0
  const values = job.values
  // The run is timed from the first request built to the last answer read: autocannon itself ends
  // a run on its once-a-second tick, so a clock around the whole call rounds up to whole seconds.
  let first = 0
  let last = 0
  const started = () => {
    if (first === 0) first = performance.now()
  }
  // The body check is ours too: autocannon's `expectBody` cannot be combined with `requests`.
  let mismatches = 0
  const answered = (_status: number, body: string) => {
    last = performance.now()
    if (job.expectBody !== undefined && body !== job.expectBody) mismatches++
  }
  const result = await autocannon({
    url: job.url,
    method: job.method ?? 'POST',
    connections: values ? Math.min(job.connections, values.length) : job.connections,
    ...(values ? { amount: values.length } : { duration: job.seconds ?? 10 }),
    requests: [
      {
        setupRequest: (req) => {
          started()
          return values ? { ...req, headers: { ...req.headers, [job.header!]: values[i++]! } } : req
        },
        onResponse: answered,
      },
    ],
  })
  const seconds = (last - first) / 1000
  const codes: Record<string, number> = {}
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {}))
    codes[code] = Number(s.count)
  const out: Load = {
    seconds,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    mismatches,
    codes,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
  }
  process.send!(out)
  process.disconnect()
})
