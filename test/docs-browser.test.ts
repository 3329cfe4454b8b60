import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DOCS_BUNDLE } from '../src/app/docs.ts'
import { startTestApp, type TestApp } from './harness/app.ts'
import { chromiumAvailable, launchBrowser } from './harness/browser.ts'

// Under CI a missing Chromium fails the run (.ci/run installs it); locally the suite says why it skips.
const runnable = chromiumAvailable() || process.env.CI === 'true'
if (!runnable) console.warn('docs browser check skipped: no Chromium at CHROMIUM_PATH')

describe.runIf(runnable)('/docs offline, in headless Chromium', () => {
  let app: TestApp
  let browser: Browser
  beforeAll(async () => {
    ;[app, browser] = await Promise.all([startTestApp('memory'), launchBrowser()])
  })
  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  it('renders the operations with every request served by the app itself', async () => {
    const context = await browser.newContext()
    const local: string[] = []
    const external: string[] = []
    // Every request of the page (scripts, styles, fonts, fetches, workers) passes here.
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url())
      if (url.protocol === 'data:' || url.protocol === 'blob:') return route.continue()
      if (url.hostname === '127.0.0.1' || url.hostname === 'localhost') {
        local.push(url.pathname)
        return route.continue()
      }
      external.push(url.href)
      return route.abort('blockedbyclient')
    })
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))

    const res = await page.goto(`${app.url}/docs`)
    expect(res?.status()).toBe(200)
    // The first tag group is open: its operation is rendered from /openapi.json.
    await page
      .getByText('Grab a flash-sale voucher')
      .first()
      .waitFor({ state: 'visible', timeout: 60_000 })
    // Opening other groups in the sidebar shows their operations too.
    for (const [group, summary] of [
      ['auth', 'Send a one-time login code'],
      ['users', 'The logged-in user'],
    ] as const) {
      await page.getByText(group, { exact: true }).first().click()
      await page.getByText(summary).first().waitFor({ state: 'visible', timeout: 30_000 })
    }
    expect(await page.title()).toBe('edge-seckill API docs')
    expect(local).toEqual(expect.arrayContaining(['/docs', DOCS_BUNDLE, '/openapi.json']))
    expect(external).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  })

  it('serves the bundle from public/ with a JavaScript content type', async () => {
    const res = await app.fetch(DOCS_BUNDLE, { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    const html = await (await app.fetch('/docs')).text()
    expect(html).toContain(`src="${DOCS_BUNDLE}"`)
    expect(html).not.toMatch(/cdn\.jsdelivr|fonts\.scalar\.com/)
  })
})
