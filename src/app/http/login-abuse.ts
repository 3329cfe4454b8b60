import type { Context } from 'hono'
import {
  type AbuseDeps,
  chargeCodeSend,
  guardLogin,
  recordLoginFailure,
} from '../../domain/auth/abuse.ts'
import { DomainError } from '../../domain/errors.ts'
import { clientAddress, clientKey } from './client-ip.ts'
import type { AppEnv } from './env.ts'

function abuse(c: Context<AppEnv>): { deps: AbuseDeps; client: string } {
  const { limiter, config } = c.var.deps
  return {
    deps: { limiter, policy: config.loginAbuse },
    client: clientKey(clientAddress(c, config.trustProxy)),
  }
}

/** The `beforeSend` of requestCode: charges the code to this client and the global budget. */
export function codeSendBudget(c: Context<AppEnv>): () => Promise<void> {
  const { deps, client } = abuse(c)
  return () => chargeCodeSend(deps, client)
}

/**
 * Runs a login attempt under the failed-login budgets: refused (429) when this client or the whole
 * service failed too often recently; a wrong code counts against both.
 */
export async function withLoginBudget<T>(
  c: Context<AppEnv>,
  attempt: () => Promise<T>
): Promise<T> {
  const { deps, client } = abuse(c)
  await guardLogin(deps, client)
  try {
    return await attempt()
  } catch (e) {
    if (e instanceof DomainError && e.code === 'INVALID_CODE')
      await recordLoginFailure(deps, client)
    throw e
  }
}
