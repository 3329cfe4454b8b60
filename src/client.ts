/**
 * The typed client of the API (hono/client): every route's path, method, params, JSON body and
 * response types come from the server's own route declarations. Import it from the package as
 * `edge-seckill/client`.
 *
 *   const api = createClient('https://api.example')
 *   const res = await api.auth.login.$post({ json: { phone, code } })
 *   if (res.ok) { const { token } = await res.json() }
 */
import { type ClientRequestOptions, hc } from 'hono/client'
import type { App } from './app/app.ts'

export type { App }

// Computing the client type once here (not at every call site) keeps editors and tsc fast.
const typed = (...args: Parameters<typeof hc>) => hc<App>(...args)

/** The client type: `Client['users']['me']['$get']` and so on. */
export type Client = ReturnType<typeof typed>

/** A client for the API at `baseUrl`; pass `{ headers: { authorization: 'Bearer …' } }` to log in. */
export function createClient(baseUrl: string, options?: ClientRequestOptions): Client {
  return typed(baseUrl, options)
}
