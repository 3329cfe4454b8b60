import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * True when the module whose `import.meta` is given is the program's entry point, on every
 * runtime: `import.meta.main` where the runtime sets it (Deno, Bun, Node ≥ 24.2), else the entry
 * script in `process.argv[1]` compared with the module's file (older Node, test runners).
 */
export function isMainModule(meta: { url: string; main?: boolean }): boolean {
  if (typeof meta.main === 'boolean') return meta.main
  const entry = process.argv[1]
  if (!entry || !meta.url.startsWith('file:')) return false
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(meta.url))
  } catch {
    return false
  }
}
