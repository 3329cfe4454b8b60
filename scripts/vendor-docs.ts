/**
 * `npm run vendor:docs`: copies the API reference's browser bundle (@scalar/api-reference's UMD
 * `dist/browser/standalone.js`) into public/, so /docs works with no internet. The bundle is
 * committed (4 MB; Workers serve it as a static asset, Node/Deno/Bun through the asset source):
 * generating it at `npm ci` time would download a 10 MB tarball on every install and make a fresh
 * clone's /docs depend on the registry being reachable.
 *
 * To update: change VERSION, run `npm run vendor:docs` (fetches the tarball with `npm pack`, checks
 * the registry's integrity, extracts the one file), update DOCS_BUNDLE in src/app/docs.ts, commit.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const VERSION = '1.72.1'
const INTEGRITY =
  'sha512-XpEJ0rfc/cXbCrR+iC4kK0o/WwX2dTtGQbT049OlPKAHD6IMIFdTeGz2r+M27P2EDWKyUITRm/NzlP8z2pw/Ow=='
const target = new URL(`../public/vendor/scalar-api-reference-${VERSION}/`, import.meta.url)
  .pathname

const work = await mkdtemp(join(tmpdir(), 'vendor-docs-'))
try {
  execFileSync(
    'npm',
    ['pack', `@scalar/api-reference@${VERSION}`, '--pack-destination', work, '--silent'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    }
  )
  const tarball = join(work, `scalar-api-reference-${VERSION}.tgz`)
  const digest = `sha512-${createHash('sha512')
    .update(await readFile(tarball))
    .digest('base64')}`
  if (digest !== INTEGRITY) throw new Error(`integrity mismatch: ${digest}`)
  execFileSync('tar', ['xzf', tarball, '-C', work, 'package/dist/browser/standalone.js'])
  await mkdir(target, { recursive: true })
  const bundle = await readFile(join(work, 'package/dist/browser/standalone.js'))
  await writeFile(join(target, 'standalone.js'), bundle)
  console.log(`wrote ${target}standalone.js (${bundle.length} bytes)`)
} finally {
  await rm(work, { recursive: true, force: true })
}
