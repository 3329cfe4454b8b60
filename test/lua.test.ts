import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { GENERATED, renderScripts } from '../scripts/gen-lua.ts'
import { type DirectRedis, directRedis } from './harness/redis.ts'

const dir = new URL('../lua/', import.meta.url)
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.lua'))
  .map((file) => ({ file, source: readFileSync(new URL(file, dir), 'utf8') }))

describe('lua/ scripts', () => {
  it('the generated module matches lua/ (run `npm run gen:lua` after editing a script)', () => {
    expect(readFileSync(GENERATED, 'utf8')).toBe(renderScripts())
  })

  it.each(scripts)('$file documents KEYS, ARGV and return values in its header', ({ source }) => {
    const header = source
      .split('\n')
      .filter((l) => l.startsWith('--'))
      .join('\n')
    expect(header).toMatch(/KEYS\[1\]/)
    expect(header).toMatch(/ARGV\[1\]/)
    expect(header).toMatch(/Returns?/)
  })

  it.each(scripts)(
    '$file takes time as an argument (never reads the server clock)',
    ({ source }) => {
      expect(source).not.toMatch(/redis\.call\(\s*['"]TIME['"]/i)
    }
  )

  it.each(scripts)('$file touches keys only through KEYS', ({ source }) => {
    const calls = [...source.matchAll(/redis\.call\(\s*'(\w+)'\s*,\s*([^,)]+)/g)]
    const literalKeys = calls.filter(([, , firstArg]) => !/^KEYS\[/.test(firstArg!.trim()))
    expect(literalKeys.map((m) => m[0])).toEqual([])
  })
})

describe.skipIf(!inject('services').redis)('lua/ scripts on a real Redis', () => {
  let redis: DirectRedis
  beforeAll(async () => {
    redis = await directRedis()
  })
  afterAll(async () => {
    await redis.quit()
  })

  it.each(scripts)('$file compiles (SCRIPT LOAD returns its SHA-1)', async ({ source }) => {
    const sha = await redis.scriptLoad(source)
    expect(sha).toBe(createHash('sha1').update(source).digest('hex'))
  })
})
