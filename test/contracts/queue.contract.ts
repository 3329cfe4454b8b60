import { describe, expect, it } from 'vitest'
import { DependencyUnavailable, PermanentFailure } from '../../src/domain/errors.ts'
import type { DeadLetter, Delivery, Queue, TopicHandlers } from '../../src/domain/ports/queue.ts'

export interface QueueHarness {
  queue: Queue
  /** Moves the queue's time forward (delays and retry backoff elapse). */
  advance(ms: number): Promise<void>
  /** Resolves once no delivery is running or due. */
  idle(): Promise<void>
  dispose(): Promise<void>
  /**
   * Makes the queue refuse every publish request (an error status) until the returned function is
   * called. Absent when the adapter has no outside service to fail (memory).
   */
  refusePublishes?(): () => void
  /** Publish requests the queue service has answered so far (absent: not countable). */
  publishRequests?(): number
}

/** Builds a queue whose consumers are `handlers` (read at delivery time). */
export type MakeQueue = (handlers: TopicHandlers) => Promise<QueueHarness>

const DAY = 86_400_000

/** A recording consumer whose n-th attempt fails while `fail(attempt)` says so. */
function recorder(fail: (attempt: number) => Error | undefined = () => undefined) {
  const deliveries: Delivery<unknown>[] = []
  const dead: DeadLetter<unknown>[] = []
  return {
    deliveries,
    dead,
    handler: {
      async handle(d: Delivery<unknown>) {
        deliveries.push(d)
        const error = fail(d.attempt)
        if (error) throw error
      },
      async deadLetter(letter: DeadLetter<unknown>) {
        dead.push(letter)
      },
    },
  }
}

/**
 * The Queue port's contract; every adapter runs it. `faults`: the adapter has an outside service
 * that can refuse publishes (its harness has `refusePublishes`); the refusal tests run only then
 * (they are not registered, rather than skipped, elsewhere).
 */
export function queueContract(name: string, make: MakeQueue, faults = false) {
  const withFaults = faults ? it : () => {}
  describe(`Queue contract [${name}]`, () => {
    it('delivers a JSON body once, with the receipt’s message id and attempt 0', async () => {
      const r = recorder()
      const h = await make({ 'test.basic': r.handler })
      const body = { orderId: '123456789012345678901', n: 7, text: 'ünïcödé ✓', list: [1, null] }
      const receipt = await h.queue.publish('test.basic', body)
      await h.idle()
      expect(receipt.deduplicated).toBe(false)
      expect(r.deliveries).toHaveLength(1)
      expect(r.deliveries[0]).toMatchObject({ topic: 'test.basic', body, attempt: 0 })
      expect(r.deliveries[0]?.messageId).toBe(receipt.messageId)
      expect(r.dead).toHaveLength(0)
      await h.dispose()
    })

    it('retries failed deliveries with backoff until one succeeds', async () => {
      const r = recorder((attempt) => (attempt < 2 ? new Error(`boom ${attempt}`) : undefined))
      const h = await make({ 'test.retry': r.handler })
      await h.queue.publish('test.retry', { k: 1 }, { retries: 3 })
      await h.idle()
      expect(r.deliveries.map((d) => d.attempt)).toEqual([0])
      await h.advance(DAY)
      await h.idle()
      await h.advance(DAY)
      await h.idle()
      expect(r.deliveries.map((d) => d.attempt)).toEqual([0, 1, 2])
      expect(new Set(r.deliveries.map((d) => d.messageId)).size).toBe(1)
      expect(r.dead).toHaveLength(0)
      await h.dispose()
    })

    it('hands a message to the dead-letter handler once its retries are exhausted', async () => {
      const r = recorder(() => new Error('always'))
      const h = await make({ 'test.dead': r.handler })
      const receipt = await h.queue.publish('test.dead', { k: 'dead' }, { retries: 2 })
      for (let i = 0; i < 4; i++) {
        await h.idle()
        await h.advance(DAY)
      }
      await h.idle()
      expect(r.deliveries.map((d) => d.attempt)).toEqual([0, 1, 2])
      expect(r.dead).toHaveLength(1)
      expect(r.dead[0]).toMatchObject({ topic: 'test.dead', body: { k: 'dead' } })
      expect(r.dead[0]?.messageId).toBe(receipt.messageId)
      expect(r.dead[0]?.reason).toEqual(expect.any(String))
      await h.dispose()
    })

    it('dead-letters a PermanentFailure at once, without retrying', async () => {
      const r = recorder(() => new PermanentFailure('malformed'))
      const h = await make({ 'test.permanent': r.handler })
      await h.queue.publish('test.permanent', { k: 'bad' }, { retries: 3 })
      await h.idle()
      await h.advance(DAY)
      await h.idle()
      expect(r.deliveries).toHaveLength(1)
      expect(r.dead).toHaveLength(1)
      expect(r.dead[0]?.body).toEqual({ k: 'bad' })
      await h.dispose()
    })

    it('accepts a repeated dedup id once', async () => {
      const r = recorder()
      const h = await make({ 'test.dedup': r.handler })
      const first = await h.queue.publish('test.dedup', { v: 1 }, { dedupId: 'order-42' })
      const second = await h.queue.publish('test.dedup', { v: 2 }, { dedupId: 'order-42' })
      await h.idle()
      expect(first.deduplicated).toBe(false)
      expect(second).toEqual({ messageId: first.messageId, deduplicated: true })
      expect(r.deliveries.map((d) => d.body)).toEqual([{ v: 1 }])
      await h.dispose()
    })

    it('holds a delayed message until its delay has passed', async () => {
      const r = recorder()
      const h = await make({ 'test.delay': r.handler })
      await h.queue.publish('test.delay', { later: true }, { delayMs: 30_000 })
      await h.idle()
      await h.advance(29_000)
      await h.idle()
      expect(r.deliveries).toHaveLength(0)
      await h.advance(1_000)
      await h.idle()
      expect(r.deliveries.map((d) => d.body)).toEqual([{ later: true }])
      await h.dispose()
    })

    it('delivers 100 concurrently published messages exactly once each', async () => {
      const r = recorder()
      const h = await make({ 'test.many': r.handler })
      const receipts = await Promise.all(
        Array.from({ length: 100 }, (_, i) => h.queue.publish('test.many', { i }))
      )
      await h.idle()
      expect(new Set(receipts.map((x) => x.messageId)).size).toBe(100)
      const seen = r.deliveries.map((d) => (d.body as { i: number }).i).sort((a, b) => a - b)
      expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i))
      await h.dispose()
    })

    it('publishBatch: one request, each item delivered once, receipts in order', async () => {
      const a = recorder()
      const b = recorder()
      const h = await make({ 'batch.a': a.handler, 'batch.b': b.handler })
      const before = h.publishRequests?.()
      const receipts = await h.queue.publishBatch([
        { topic: 'batch.a', body: { n: 1 } },
        { topic: 'batch.b', body: { n: 2 }, opts: { dedupId: 'b-2' } },
        { topic: 'batch.a', body: null },
      ])
      if (before !== undefined) expect(h.publishRequests!() - before).toBe(1)
      await h.idle()
      expect(receipts.map((r) => r.deduplicated)).toEqual([false, false, false])
      expect(new Set(receipts.map((r) => r.messageId)).size).toBe(3)
      expect(a.deliveries.map((d) => [d.body, d.messageId])).toEqual([
        [{ n: 1 }, receipts[0]!.messageId],
        [null, receipts[2]!.messageId],
      ])
      expect(b.deliveries.map((d) => [d.topic, d.body, d.messageId, d.attempt])).toEqual([
        ['batch.b', { n: 2 }, receipts[1]!.messageId, 0],
      ])
      expect(await h.queue.publishBatch([])).toEqual([])
      await h.dispose()
    })

    it('publishBatch honours each item’s delay, dedup id and retries', async () => {
      const now = recorder()
      const later = recorder((attempt) => (attempt === 0 ? new Error('first fails') : undefined))
      const h = await make({ 'batch.now': now.handler, 'batch.later': later.handler })
      const first = await h.queue.publishBatch([
        { topic: 'batch.now', body: { k: 'now' }, opts: { dedupId: 'once-1', retries: 0 } },
        { topic: 'batch.later', body: { k: 'later' }, opts: { delayMs: 30_000, retries: 1 } },
      ])
      // The same id again, alone and in a batch beside a fresh item: dropped, the other queued.
      const again = await h.queue.publishBatch([
        { topic: 'batch.now', body: { k: 'dup' }, opts: { dedupId: 'once-1' } },
        { topic: 'batch.now', body: { k: 'fresh' }, opts: { dedupId: 'once-2' } },
      ])
      expect(again[0]).toEqual({ messageId: first[0]!.messageId, deduplicated: true })
      expect(again[1]?.deduplicated).toBe(false)
      await h.idle()
      expect(now.deliveries.map((d) => d.body)).toEqual([{ k: 'now' }, { k: 'fresh' }])
      expect(later.deliveries).toHaveLength(0)
      await h.advance(29_000)
      await h.idle()
      expect(later.deliveries).toHaveLength(0)
      await h.advance(1_000)
      await h.idle()
      expect(later.deliveries.map((d) => d.attempt)).toEqual([0])
      await h.advance(DAY)
      await h.idle()
      await h.advance(DAY)
      await h.idle()
      expect(later.deliveries.map((d) => d.attempt)).toEqual([0, 1])
      expect(later.dead).toHaveLength(0)
      expect(now.deliveries).toHaveLength(2)
      await h.dispose()
    })

    it('publishBatch with an unserialisable body is refused as a whole: nothing is delivered', async () => {
      const r = recorder()
      const h = await make({ 'batch.bad': r.handler })
      const err = await h.queue
        .publishBatch([
          { topic: 'batch.bad', body: { ok: 1 }, opts: { dedupId: 'bad-1' } },
          { topic: 'batch.bad', body: { n: 1n } },
        ])
        .catch((e) => e)
      expect(err).toBeInstanceOf(DependencyUnavailable)
      await h.idle()
      await h.advance(DAY)
      await h.idle()
      expect(r.deliveries).toHaveLength(0)
      // Nothing was remembered either: the same dedup id is accepted afresh.
      const [ok] = await h.queue.publishBatch([
        { topic: 'batch.bad', body: { ok: 2 }, opts: { dedupId: 'bad-1' } },
      ])
      expect(ok?.deduplicated).toBe(false)
      await h.idle()
      expect(r.deliveries.map((d) => d.body)).toEqual([{ ok: 2 }])
      await h.dispose()
    })

    withFaults(
      'a refused publishBatch rejects with DependencyUnavailable and delivers nothing',
      async () => {
        const r = recorder()
        const h = await make({ 'batch.refused': r.handler })
        if (!h.refusePublishes) throw new Error('the harness must provide refusePublishes')
        const items = [
          { topic: 'batch.refused', body: { i: 1 }, opts: { dedupId: 'refused-1' } },
          {
            topic: 'batch.refused',
            body: { i: 2 },
            opts: { dedupId: 'refused-2', delayMs: 1_000 },
          },
        ]
        const restore = h.refusePublishes()
        const err = await h.queue.publishBatch(items).catch((e) => e)
        restore()
        expect(err).toBeInstanceOf(DependencyUnavailable)
        await h.advance(DAY)
        await h.idle()
        expect(r.deliveries).toHaveLength(0)
        // Published again later (the outbox's way): each item arrives once.
        const receipts = await h.queue.publishBatch(items)
        expect(receipts.map((x) => x.deduplicated)).toEqual([false, false])
        await h.advance(1_000)
        await h.idle()
        expect(r.deliveries.map((d) => d.body)).toEqual([{ i: 1 }, { i: 2 }])
        await h.dispose()
      }
    )
  })
}
