/**
 * The workerd project of `npm test`: the Worker entry runs inside workerd through
 * @cloudflare/vitest-plugin with wrangler.toml, its bindings pointing at the stand-ins that
 * test/workerd/global-setup.ts starts on the planned ports. QStash reaches the Worker through a
 * direct socket into workerd (the Worker's PUBLIC_URL).
 */
import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import { planWorkerdStack } from './test/workerd/plan.ts'

export default defineConfig(async () => {
  const plan = await planWorkerdStack()
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: plan.bindings,
          unsafeDirectSockets: [{ host: '127.0.0.1', port: Number(new URL(plan.workerUrl).port) }],
        },
      }),
    ],
    test: {
      name: 'workerd',
      include: ['test/workerd/**/*.test.ts'],
      globalSetup: ['test/workerd/global-setup.ts'],
      provide: { workerd: plan },
      // One file at a time: the files share the stand-ins, and a test that moves QStash's clock
      // (payment timeouts) or counts the gateway's subscriptions must not see another file's orders.
      fileParallelism: false,
      testTimeout: 120_000,
      hookTimeout: 120_000,
    },
  }
})
