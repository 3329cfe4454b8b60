import { afterEach, describe, expect, it } from 'vitest'
import type { Broadcast, Subscription } from '../../src/domain/ports/broadcast.ts'

export interface BroadcastHarness {
  /** Two sides, as two processes/isolates would have, on the same broker. */
  a: Broadcast & { readonly listeners: number; readonly connections?: number }
  b: Broadcast
  /** Breaks every broker connection (a broker restart); the broker is usable again afterwards. */
  drop(): Promise<void>
  /** Broker-side subscriptions opened so far, when the broker can tell (else undefined). */
  brokerSubscriptions?(): number | Promise<number>
  /** Broker connections opened so far for a's listeners (default: `a.connections`, its own hub). */
  connections?(): Promise<number>
  /** Resolves once every closed subscription has reached the broker side (a local hub: at once). */
  settled?(): Promise<void>
  /** Broker subscriptions a's listeners may share at most: 1 (a process hub, the default). */
  bound?: number
}

const connections = (h: BroadcastHarness) =>
  h.connections ? h.connections() : Promise.resolve(h.a.connections ?? 0)

/** A listener that records what it gets and lets a test await the n-th message. */
function recorder() {
  const got: string[] = []
  let resets = 0
  const waiters: Array<{ n: number; resolve: () => void }> = []
  const wake = () => {
    for (const w of [...waiters]) {
      if (got.length >= w.n || resets > 0) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
    }
  }
  return {
    got,
    get resets() {
      return resets
    },
    listener: {
      message: (m: string) => {
        got.push(m)
        wake()
      },
      reset: () => {
        resets++
        wake()
      },
    },
    /** Resolves once `n` messages (or a reset) arrived. */
    until(n: number) {
      return new Promise<void>((resolve) => {
        waiters.push({ n, resolve })
        wake()
      })
    },
  }
}

/** The Broadcast port's contract; every adapter runs it. */
export function broadcastContract(name: string, make: () => Promise<BroadcastHarness>) {
  describe(`Broadcast contract [${name}]`, () => {
    const open: Subscription[] = []
    afterEach(() => {
      for (const s of open.splice(0)) s.close()
    })
    const channel = () => `t:${crypto.randomUUID().slice(0, 8)}`

    it('delivers what is published after subscribe resolved, in order, to every process', async () => {
      const { a, b } = await make()
      const ch = channel()
      const here = recorder()
      const there = recorder()
      open.push(await a.subscribe(ch, here.listener), await b.subscribe(ch, there.listener))
      // Enough messages that a transport spreading one channel over several nodes would reorder.
      const sent = [...Array.from({ length: 30 }, (_, i) => String(i)), '{"x":"a,b"}']
      for (const m of sent) await a.publish(ch, m)
      await Promise.all([here.until(sent.length), there.until(sent.length)])
      expect(here.got).toEqual(sent)
      expect(there.got).toEqual(sent)
    })

    it('keeps channels apart and stops delivering to a closed subscription', async () => {
      const { a, b } = await make()
      const [x, y] = [channel(), channel()]
      const onX = recorder()
      const onY = recorder()
      const gone = recorder()
      open.push(await a.subscribe(x, onX.listener), await a.subscribe(y, onY.listener))
      const closed = await a.subscribe(x, gone.listener)
      closed.close()
      closed.close()
      await b.publish(y, 'for y')
      await b.publish(x, 'for x')
      await Promise.all([onX.until(1), onY.until(1)])
      expect(onX.got).toEqual(['for x'])
      expect(onY.got).toEqual(['for y'])
      expect(gone.got).toEqual([])
    })

    it('shares ONE broker subscription (per hub) among every listener of every channel', async () => {
      const h = await make()
      const { a, b, brokerSubscriptions, bound = 1 } = h
      await h.settled?.()
      const before = await brokerSubscriptions?.()
      const opened = await connections(h)
      const channels = Array.from({ length: 10 }, channel)
      const recorders = Array.from({ length: 100 }, () => recorder())
      open.push(
        ...(await Promise.all(recorders.map((r, i) => a.subscribe(channels[i % 10]!, r.listener))))
      )
      expect(a.listeners).toBe(100)
      for (const ch of channels) await b.publish(ch, ch)
      await Promise.all(recorders.map((r) => r.until(1)))
      expect(recorders.map((r) => r.got)).toEqual(recorders.map((_, i) => [channels[i % 10]]))
      const hubs = (await connections(h)) - opened
      expect(hubs).toBeGreaterThanOrEqual(1)
      expect(hubs).toBeLessThanOrEqual(bound)
      if (before !== undefined) expect((await brokerSubscriptions!()) - before).toBe(hubs)
    })

    it('closes the broker subscription with the last listener and opens it again on demand', async () => {
      const h = await make()
      const { a, b } = h
      await h.settled?.()
      const opened = await connections(h)
      const ch = channel()
      const first = await a.subscribe(ch, recorder().listener)
      first.close()
      expect(a.listeners).toBe(0)
      await h.settled?.()
      const again = recorder()
      open.push(await a.subscribe(ch, again.listener))
      await b.publish(ch, 'back')
      await again.until(1)
      expect(again.got).toEqual(['back'])
      expect((await connections(h)) - opened).toBe(2)
    })

    it('resets every listener once when the broker connection drops; subscribing again works', async () => {
      const { a, b, drop } = await make()
      const ch = channel()
      const r1 = recorder()
      const r2 = recorder()
      open.push(await a.subscribe(ch, r1.listener), await a.subscribe(channel(), r2.listener))
      await drop()
      await Promise.all([r1.until(Number.POSITIVE_INFINITY), r2.until(Number.POSITIVE_INFINITY)])
      expect([r1.resets, r2.resets]).toEqual([1, 1])
      expect(a.listeners).toBe(0)
      const after = recorder()
      open.push(await a.subscribe(ch, after.listener))
      await b.publish(ch, 'after')
      await after.until(1)
      expect(after.got).toEqual(['after'])
      expect(r1.got).toEqual([])
    })
  })
}
