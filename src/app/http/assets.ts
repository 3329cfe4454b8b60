import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from './env.ts'

/**
 * Static files of `public/` (pages, offline docs assets, images). On Workers the platform serves
 * them before the Worker runs (`[assets]` in wrangler.toml); on Node, Deno and Bun the entry passes
 * a source that reads the same directory.
 */
export interface AssetSource {
  /**
   * The file at a URL path such as `/sale/index.html` (already percent-decoded, starting with
   * `/`), or `null` when there is none. Must refuse paths that leave the directory.
   */
  get(path: string): Promise<Uint8Array<ArrayBuffer> | null>
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json',
  map: 'application/json',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
  txt: 'text/plain; charset=utf-8',
}

/** The content type for a file name by its extension (octet-stream when unknown). */
export function contentTypeOf(name: string): string {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase()
  return TYPES[ext] ?? 'application/octet-stream'
}

/**
 * Serves GET/HEAD requests that no route answered from `source` (a directory path serves its
 * `index.html`). Routes always win; anything else falls through to the app's 404.
 */
export function serveAssets(source: AssetSource | undefined): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next()
    if (!source || c.res.status !== 404 || (c.req.method !== 'GET' && c.req.method !== 'HEAD')) {
      return
    }
    let path: string
    try {
      path = decodeURIComponent(c.req.path)
    } catch {
      return
    }
    if (path.endsWith('/')) path += 'index.html'
    const body = await source.get(path)
    if (!body) return
    c.res = new Response(c.req.method === 'HEAD' ? null : body, {
      status: 200,
      headers: {
        'content-type': contentTypeOf(path),
        'content-length': String(body.byteLength),
        'cache-control': 'public, max-age=300',
      },
    })
  }
}
