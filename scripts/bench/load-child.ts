/**
 * Benchmark child: the load generator (autocannon) in a process of its own. Either one request per
 * value of `values` (each with `header: value`), or (no values) requests for `seconds`, over
 * `connections` connections, timed on its own clock (performance.now() around the run: autocannon
 * rounds its duration up to whole seconds). With `expectBody`, every answer's body is compared.
 * In: a LoadJob (scripts/bench/common.ts) once; out: a Load.
 */
import autocannon from 'autocannon'
import type { Load, LoadJob } from './common.ts'

process.once('message', async (job: LoadJob) => {
  let i = 0
  const values = job.values
  const started = performance.now()
  const result = await autocannon({
    url: job.url,
    method: job.method ?? 'POST',
    connections: values ? Math.min(job.connections, values.length) : job.connections,
    ...(values ? { amount: values.length } : { duration: job.seconds ?? 10 }),
    ...(job.expectBody === undefined ? {} : { expectBody: job.expectBody }),
    ...(values
      ? {
          requests: [
            {
              setupRequest: (req) => ({
                ...req,
                headers: { ...req.headers, [job.header!]: values[i++]! },
              }),
            },
          ],
        }
      : {}),
  })
  const seconds = (performance.now() - started) / 1000
  const codes: Record<string, number> = {}
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {}))
    codes[code] = Number(s.count)
  const out: Load = {
    seconds,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    mismatches: (result as { mismatches?: number }).mismatches ?? 0,
    codes,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
  }
  process.send!(out)
  process.disconnect()
})
