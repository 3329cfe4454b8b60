import type { DependencyUnavailable } from '../../domain/errors.ts'
import type { Session } from '../../domain/ports/session.ts'
import type { Deps } from '../deps.ts'

/** Hono environment of the app: per-request dependencies, the request id and the session. */
export type AppEnv = {
  Bindings: Record<string, unknown>
  Variables: {
    deps: Deps
    requestId: string
    /** Node: the TCP peer address (see client-ip.ts). */
    socketAddress?: string
    /** The caller's live session (set by loadSession when a valid token is sent). */
    session?: Session
    /** Set when the session store could not be reached for a request that sent a token. */
    sessionUnavailable?: DependencyUnavailable
  }
}
