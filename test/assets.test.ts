import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DirectoryAssets } from '../src/adapters/system/file-assets.ts'
import { type NodeServer, startNodeServer } from '../src/app/node.ts'

describe('static assets (public/ on Node; Workers serve the same directory as [assets])', () => {
  let server: NodeServer
  let root: string
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'assets-'))
    await mkdir(join(root, 'sub'))
    await writeFile(join(root, 'index.html'), '<p>home</p>')
    await writeFile(join(root, 'sub', 'a.js'), 'export {}')
    await writeFile(join(root, 'health'), 'shadowed by the route')
    await writeFile(join(`${root}-secret.txt`), 'outside')
    server = await startNodeServer({
      port: 0,
      env: { APP_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: ':memory:', PUBLIC_DIR: root },
    })
  })
  afterAll(() => server.close())

  it('serves files with their content type; a directory serves its index.html; HEAD has no body', async () => {
    const js = await fetch(`${server.url}/sub/a.js`)
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await js.text()).toBe('export {}')
    const home = await fetch(`${server.url}/`)
    expect(home.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await home.text()).toBe('<p>home</p>')
    // Pages get a same-origin CSP (their own scripts run); API answers allow nothing.
    expect(home.headers.get('content-security-policy')).toMatch(
      /default-src 'self'.*script-src 'self'/
    )
    const api = await fetch(`${server.url}/health`)
    expect(api.headers.get('content-security-policy')).toMatch(/default-src 'none'/)
    const head = await fetch(`${server.url}/sub/a.js`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe('9')
  })

  it('routes win over files, and other methods never read files', async () => {
    expect((await fetch(`${server.url}/health`)).headers.get('content-type')).toMatch(/json/)
    const post = await fetch(`${server.url}/sub/a.js`, { method: 'POST' })
    expect(post.status).toBe(404)
  })

  it('refuses paths that leave the directory, NUL bytes and bad escapes', async () => {
    const assets = new DirectoryAssets(root)
    expect(await assets.get('/../assets-x')).toBeNull()
    expect(await assets.get(`/..${root.slice(root.lastIndexOf('/'))}-secret.txt`)).toBeNull()
    expect(await assets.get('/sub/a.js\0')).toBeNull()
    expect(await assets.get('/sub')).toBeNull()
    for (const path of ['/%2e%2e/x', '/sub/%2e%2e/%2e%2e/etc/passwd', '/%E0%A4%A', '/a%00b']) {
      const res = await fetch(`${server.url}${path}`)
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toMatch(/problem\+json/)
    }
  })
})
