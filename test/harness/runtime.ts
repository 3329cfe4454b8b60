import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'

const root = resolve(import.meta.dirname, '../..')

/** The server entries run in a child process, each by its package.json script (the README's command). */
export const RUNTIME_SCRIPTS = { node: 'start', deno: 'start:deno', bun: 'start:bun' } as const
export type Runtime = keyof typeof RUNTIME_SCRIPTS

/** The argv of a runtime's start script (plain words, no shell syntax), its binary from node_modules/.bin. */
export function runtimeCommand(runtime: Runtime): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const script: string = pkg.scripts[RUNTIME_SCRIPTS[runtime]]
  if (/[|&;<>$`"']/.test(script)) throw new Error(`script ${runtime} needs a shell: ${script}`)
  return script.split(/\s+/)
}

export interface RuntimeServer {
  runtime: Runtime
  url: string
  child: ChildProcess
  /** The first JSON log line with msg 'listening'. */
  listening: Record<string, unknown>
  /** Sends a signal and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  /** Output lines that were not JSON logs plus error-level logs (for failure messages). */
  problems: string[]
}

/**
 * Starts the app on a runtime as a child process (cwd: the repo; env: the given variables plus
 * PATH, HOME and the port), resolving once it logs 'listening', rejecting if it exits first.
 */
export async function startRuntime(
  runtime: Runtime,
  port: number,
  env: Record<string, string>
): Promise<RuntimeServer> {
  const [bin, ...args] = runtimeCommand(runtime)
  const child = spawn(join(root, 'node_modules/.bin', bin!), args, {
    cwd: root,
    env: {
      PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? '/tmp',
      DENO_NO_UPDATE_CHECK: '1',
      NO_COLOR: '1',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const problems: string[] = []
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
  const listening = new Promise<Record<string, unknown>>((ready, fail) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown> | undefined
      try {
        entry = JSON.parse(line)
      } catch {
        problems.push(line)
      }
      if (entry?.level === 'error') problems.push(line)
      if (entry?.msg === 'listening') ready(entry)
    })
    createInterface({ input: child.stderr! }).on('line', (line) => problems.push(line))
    void exited.then((code) =>
      fail(new Error(`${runtime} exited (${code}) before listening:\n${problems.join('\n')}`))
    )
  })
  try {
    return {
      runtime,
      url: `http://127.0.0.1:${port}`,
      child,
      listening: await listening,
      problems,
      stop(signal = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal)
        return exited
      },
    }
  } catch (e) {
    child.kill('SIGKILL')
    throw e
  }
}
