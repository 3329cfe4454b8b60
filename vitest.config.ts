import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    // Bun's child_process lacks what vitest's forks pool needs (IPC channel unref): threads there.
    pool: process.versions.bun ? 'threads' : 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: process.env.VITEST_JSON
      ? ['default', ['json', { outputFile: process.env.VITEST_JSON }]]
      : ['default'],
    projects: [
      // Node (everything but test/workerd), and the Worker inside workerd (its own config).
      {
        extends: true,
        test: { name: 'node', exclude: [...configDefaults.exclude, 'test/workerd/**'] },
      },
      'vitest.workerd.config.ts',
    ],
  },
})
