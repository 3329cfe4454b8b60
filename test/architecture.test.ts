import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Files allowed to import adapters: the composition root and the entry points that feed it. */
const COMPOSITION_ROOT = ['src/app/deps.ts', 'src/app/host.ts', 'src/app/node.ts']

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
}

/** Every module specifier a file imports or re-exports (static, dynamic and side-effect imports). */
function importsOf(code: string): string[] {
  const stripped = code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
  const found: string[] = []
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ]
  for (const pattern of patterns) for (const m of stripped.matchAll(pattern)) found.push(m[1]!)
  return found
}

function resolvedImports(file: string) {
  const code = readFileSync(join(root, file), 'utf8')
  return importsOf(code).map((spec) => ({
    spec,
    target: spec.startsWith('.') ? relative(root, resolve(root, dirname(file), spec)) : null,
  }))
}

describe('dependency rule', () => {
  it('finds the imports it checks (self-test of the scanner)', () => {
    const code = `import type { A } from './a.ts'\nimport x from "hono"\nexport { y } from '../y.ts'\nimport 'side'\nconst m = await import('node:fs')\n// import z from 'commented'`
    expect(importsOf(code)).toEqual(['./a.ts', 'hono', '../y.ts', 'side', 'node:fs'])
  })

  it('src/domain imports nothing outside src/domain (no third-party or runtime modules)', () => {
    const files = sources('src/domain')
    expect(files.length).toBeGreaterThan(3)
    const offending = files.flatMap((file) =>
      resolvedImports(file)
        .filter(({ target }) => target === null || !target.startsWith('src/domain/'))
        .map(({ spec }) => `${file} imports ${spec}`)
    )
    expect(offending).toEqual([])
  })

  it('src/domain reads time and randomness only through ports', () => {
    const offending = sources('src/domain').flatMap((file) => {
      const code = readFileSync(join(root, file), 'utf8')
      return [
        /\bDate\.now\(/,
        /\bnew Date\(\)/,
        /\bMath\.random\(/,
        /\bcrypto\./,
        /\bperformance\.now\(/,
      ]
        .filter((re) => re.test(code))
        .map((re) => `${file} uses ${re.source}`)
    })
    expect(offending).toEqual([])
  })

  it('only the composition root imports adapters', () => {
    const offending = sources('src/app').flatMap((file) =>
      resolvedImports(file)
        .filter(({ target }) => target?.startsWith('src/adapters/'))
        .filter(() => !COMPOSITION_ROOT.includes(file))
        .map(({ spec }) => `${file} imports ${spec}`)
    )
    expect(offending).toEqual([])
  })

  it('adapters depend on the domain, never on the app', () => {
    const offending = sources('src/adapters').flatMap((file) =>
      resolvedImports(file)
        .filter(({ target }) => target?.startsWith('src/app/'))
        .map(({ spec }) => `${file} imports ${spec}`)
    )
    expect(offending).toEqual([])
  })
})
