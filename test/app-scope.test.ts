import { describe, expect, it } from 'vitest'
import { createApp } from '../src/app/app.ts'
import { loadConfig } from '../src/app/config.ts'
import type { Container, Deps, Scope } from '../src/app/deps.ts'
import { createLogger } from '../src/app/log.ts'

/**
 * The app asks the container for a scope per request and finishes it through waitUntil, except
 * for the container's one shared scope (`shared: true`: Node and Deno), which it keeps after the
 * first request: no async step and nothing to finish per request.
 */
describe('request scopes', () => {
  const appWith = (shared: boolean) => {
    const config = loadConfig({ APP_ENV: 'test', UV_TRACKING: 'off' })
    const deps = { config } as unknown as Deps
    const calls = { scope: 0, finish: 0, waitUntil: 0 }
    const sharedScope: Scope = { deps, finish: async () => void calls.finish++, shared: true }
    const container: Container = {
      config,
      log: createLogger('silent'),
      scope: async () => {
        calls.scope++
        return shared ? sharedScope : { deps, finish: async () => void calls.finish++ }
      },
      settle: async () => {},
      close: async () => {},
    }
    const app = createApp(container)
    const ctx = { waitUntil: () => void calls.waitUntil++, passThroughOnException() {}, props: {} }
    const get = () => app.fetch(new Request('http://localhost/no-such-route'), {}, ctx)
    return { get, calls }
  }

  it('a per-request scope: asked for and finished on every request', async () => {
    const { get, calls } = appWith(false)
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe(404)
    expect(calls).toEqual({ scope: 3, finish: 3, waitUntil: 3 })
  })

  it('the shared scope: asked for once, never finished per request', async () => {
    const { get, calls } = appWith(true)
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe(404)
    expect(calls).toEqual({ scope: 1, finish: 1, waitUntil: 1 })
  })
})
