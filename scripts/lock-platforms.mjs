// Keeps package-lock.json installable with `npm ci` when the registry mirror serves only this
// machine's platform binaries: npm then leaves other platforms' optional packages (e.g.
// @biomejs/cli-win32-x64) out of the lock, and `npm ci` refuses the lock as "out of sync". This adds
// a platform-tagged optional entry for each missing one, which npm skips on a non-matching machine.
// Run after `npm install`: node scripts/lock-platforms.mjs
import { readFileSync, writeFileSync } from 'node:fs'

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'))
const OS = {
  android: 'android',
  darwin: 'darwin',
  linux: 'linux',
  win32: 'win32',
  windows: 'win32',
  freebsd: 'freebsd',
}
const CPU = { arm64: 'arm64', x64: 'x64', 64: 'x64', ia32: 'ia32', arm: 'arm' }
let added = 0
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = path ? `${path}/node_modules/${name}` : `node_modules/${name}`
    if (lock.packages[base] || lock.packages[`node_modules/${name}`]) continue
    const parts = name.split('/').pop().split('-')
    const os = parts.map((p) => OS[p]).find(Boolean)
    const cpu = parts.map((p) => CPU[p]).find(Boolean)
    if (!os || !cpu) throw new Error(`cannot infer the platform of ${name}`)
    lock.packages[`node_modules/${name}`] = {
      version,
      optional: true,
      os: [os],
      cpu: [cpu],
      ...(parts.includes('musl') ? { libc: ['musl'] } : {}),
    }
    added++
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) =>
    a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)
  )
)
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`)
console.log(`lock-platforms: added ${added} entries`)
