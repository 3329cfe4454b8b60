import { afterEach, describe, expect, it, vi } from 'vitest'
import { CommandTimeoutError, withDeadline } from '../src/adapters/upstash/tcp.ts'

// The TCP transport bounds every Redis command's wait with one coarse sweep (instead of
// node-redis's per-command timers). Fault model: Redis (or the link) stops answering.
describe('withDeadline (TCP command deadlines)', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('fails a command left unanswered past its deadline, and only that one', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] })
    const replies = new Map<string, (v: string) => void>()
    const send = withDeadline(
      (name: string) => new Promise<string>((resolve) => replies.set(name, resolve)),
      1000
    )
    const hung = send('hung')
    const outcome = hung.then(
      () => 'answered',
      (e: unknown) => e
    )
    vi.advanceTimersByTime(500)
    const late = send('late') // issued half-way: its deadline is later
    replies.get('late')!('ok')
    expect(await late).toBe('ok')
    vi.advanceTimersByTime(800) // 1.3 s after the first command
    const error = await outcome
    expect(error).toBeInstanceOf(CommandTimeoutError)
    expect(vi.getTimerCount()).toBe(0) // nothing pending: the sweep stopped
    // A reply arriving after the deadline changes nothing.
    replies.get('hung')!('too late')
    expect(await outcome).toBe(error)
  })

  it('passes replies and errors through untouched, and keeps no timer once settled', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] })
    const boom = new Error('WRONGTYPE')
    const send = withDeadline(
      (ok: boolean) => (ok ? Promise.resolve(42) : Promise.reject(boom)),
      1000
    )
    expect(await send(true)).toBe(42)
    await expect(send(false)).rejects.toBe(boom)
    vi.advanceTimersByTime(200) // the next sweep finds nothing and stops
    expect(vi.getTimerCount()).toBe(0)
  })
})
