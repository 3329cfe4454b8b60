import { problemResponse } from './problem.ts'

type Responses = Record<string, unknown>
type Operation = {
  parameters?: unknown[]
  requestBody?: unknown
  security?: unknown[]
  responses?: Responses
}
// biome-ignore lint/suspicious/noExplicitAny: any OpenAPI document object (the generator's own types)
type Doc = { paths?: any }

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const

/**
 * Completes the generated document with what every route can answer beyond its own declarations,
 * so the document is exact: 400 (VALIDATION_FAILED, MALFORMED_JSON) wherever a parameter or body
 * is validated, 413 (PAYLOAD_TOO_LARGE) wherever a body is read, 401 (UNAUTHORIZED) wherever a
 * security scheme applies. Declarations the route made itself win.
 */
export function completeDocument<T extends Doc>(doc: T): T {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Operation>>
  for (const methods of Object.values(paths)) {
    for (const method of METHODS) {
      const op = methods[method]
      if (!op) continue
      op.responses ??= {}
      const responses = op.responses
      const add = (status: string, description: string) => {
        responses[status] ??= problemResponse(description)
      }
      if ((op.parameters?.length ?? 0) > 0 || op.requestBody) {
        add(
          '400',
          'VALIDATION_FAILED (a parameter or body field is invalid; `errors` names each) or MALFORMED_JSON'
        )
      }
      if (op.requestBody) add('413', 'PAYLOAD_TOO_LARGE: the body is over the limit (`limitBytes`)')
      if ((op.security?.length ?? 0) > 0) add('401', 'UNAUTHORIZED: missing or invalid credentials')
    }
  }
  return doc
}

/** A path template of the document as a matcher: `/shops/{id}` → /^\/shops\/[^/]+$/. */
function matcherOf(template: string): RegExp {
  const escaped = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
    .join('[^/]+')
  return new RegExp(`^${escaped}$`)
}

/** The methods each known path answers, for 405 Allow and OPTIONS. */
export function methodIndex(doc: Doc, extra: Record<string, string[]> = {}) {
  const entries: { match: RegExp; methods: Set<string> }[] = []
  const add = (path: string, methods: string[]) => {
    const set = new Set(methods.map((m) => m.toUpperCase()))
    if (set.has('GET')) set.add('HEAD')
    set.add('OPTIONS')
    entries.push({ match: matcherOf(path), methods: set })
  }
  const paths = (doc.paths ?? {}) as Record<string, Record<string, unknown>>
  for (const [path, methods] of Object.entries(paths)) add(path, Object.keys(methods))
  for (const [path, methods] of Object.entries(extra)) add(path, methods)
  /** The methods of `path` (merged over every template it matches), or null when unknown. */
  return (path: string): string[] | null => {
    const out = new Set<string>()
    for (const e of entries) if (e.match.test(path)) for (const m of e.methods) out.add(m)
    return out.size > 0 ? [...out].sort() : null
  }
}
