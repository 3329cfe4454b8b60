import { z } from 'zod'

/** Browser sessions (SESSION_COOKIE, CSRF_ALLOWED_ORIGINS): see src/app/http/cookie-session.ts. */
export interface BrowserSessionConfig {
  /** Set the session cookie at login and accept it beside bearer tokens. */
  cookie: boolean
  /**
   * Origins (scheme://host[:port]) whose pages may send cookie-authenticated unsafe requests,
   * besides the app's own origin (the request's, and PUBLIC_URL's).
   */
  allowedOrigins: string[]
}

const Origins = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const out: string[] = []
    for (const part of v.split(',').map((p) => p.trim())) {
      if (part === '') continue
      let origin: string | null = null
      try {
        origin = new URL(part).origin
      } catch {}
      if (!origin || origin === 'null' || origin !== part.replace(/\/$/, '')) {
        ctx.addIssue({
          code: 'custom',
          message: `"${part}" is not an origin like https://app.example`,
        })
        return z.NEVER
      }
      out.push(origin)
    }
    return out
  })

const BrowserEnv = z.object({
  SESSION_COOKIE: z.enum(['on', 'off']).default('off'),
  CSRF_ALLOWED_ORIGINS: Origins,
  PUBLIC_URL: z.string().optional(),
})

/** Reads the browser-session settings; problems name variables only. */
export function readBrowserSessionConfig(env: Record<string, unknown>): {
  browser: BrowserSessionConfig
  problems: string[]
} {
  const parsed = BrowserEnv.safeParse(env)
  if (!parsed.success) {
    return {
      browser: { cookie: false, allowedOrigins: [] },
      problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    }
  }
  const e = parsed.data
  let publicOrigin: string[] = []
  try {
    publicOrigin = e.PUBLIC_URL ? [new URL(e.PUBLIC_URL).origin] : []
  } catch {} // PUBLIC_URL's own validation reports it
  return {
    browser: {
      cookie: e.SESSION_COOKIE === 'on',
      allowedOrigins: [...new Set([...publicOrigin, ...e.CSRF_ALLOWED_ORIGINS])],
    },
    problems: [],
  }
}
