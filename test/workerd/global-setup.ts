/**
 * globalSetup of the workerd project: runs the suite's stack (stack-process.ts) as a child process
 * on the ports the config planned, and stops it (removing its database and keys) afterwards.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { TestProject } from 'vitest/node'

export default async function setup(project: TestProject) {
  const plan = project.config.provide?.workerd
  if (!plan) throw new Error('vitest.workerd.config.ts provides the plan')
  const child = spawn(process.execPath, [new URL('./stack-process.ts', import.meta.url).pathname], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  child.stdin.end(JSON.stringify(plan))
  const exited = once(child, 'exit')
  const ready = new Promise<void>((resolve) =>
    createInterface({ input: child.stdout }).on('line', (line) => line === 'ready' && resolve())
  )
  const first = await Promise.race([ready.then(() => 'ready'), exited.then(() => 'exited')])
  if (first !== 'ready') {
    // Like the Node project: a missing Redis/Postgres skips the suite, except under CI=true.
    const text = `the workerd stack could not start (exit ${child.exitCode}; see its error above)`
    if (process.env.CI === 'true') throw new Error(`[harness] CI=true and ${text}`)
    console.warn(`\n[harness] NOTICE: ${text}\n[harness] the workerd suite is SKIPPED.\n`)
    project.provide('workerdReady', false)
    return
  }
  project.provide('workerdReady', true)
  return async () => {
    child.kill('SIGTERM')
    await exited
  }
}
