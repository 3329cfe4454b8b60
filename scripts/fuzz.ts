/**
 * `npm run fuzz -- --runs N [--seed S] [--kinds memory,real]`: the OpenAPI fuzz suite
 * (test/fuzz.test.ts) with a bigger budget than CI's. Needs the test services like `npm test`
 * (the real stack runs when Redis and Postgres are reachable).
 */
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '500' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000_000) },
    kinds: { type: 'string' },
  },
})
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer')
console.log(`fuzz: ${runs} runs per operation, seed ${values.seed}`)
const result = spawnSync('vitest', ['run', 'test/fuzz.test.ts'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    FUZZ_RUNS: String(runs),
    FUZZ_SEED: String(values.seed),
    FUZZ_TIMEOUT_MS: String(Math.max(300_000, runs * 45 * 200)),
    ...(values.kinds ? { FUZZ_KINDS: values.kinds } : {}),
  },
})
process.exit(result.status ?? 1)
