/**
 * The workerd tests' side of the stack-control server (control.ts): plain fetch over loopback, so
 * it runs inside workerd.
 */
import { inject } from 'vitest'

export async function control<T>(path: string, body?: unknown): Promise<T> {
  const plan = inject('workerd')
  const read =
    body === undefined && /^\/(qstash\/delivered|gateway\/(subscriptions|stats)$)/.test(path)
  const res = await fetch(`${plan.controlUrl}${path}`, {
    method: read ? 'GET' : 'POST',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  if (!res.ok) throw new Error(`control ${path}: ${res.status} ${await res.text()}`)
  return res.json() as Promise<T>
}

export const sql = async <Row>(text: string, values: unknown[] = []) =>
  (await control<{ rows: Row[] }>('/sql', { text, values })).rows

export const delivered = async (topic: string) =>
  (await control<{ count: number }>(`/qstash/delivered?topic=${topic}`)).count

/** What the Upstash gateway has counted so far: HTTP requests and Redis commands. */
export interface GatewayStats {
  requests: number
  commands: number
}

/** Streaming psubscribes at the Upstash gateway: opened so far, open now. */
export interface GatewaySubscriptions {
  opened: number
  open: number
}
