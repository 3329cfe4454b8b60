import { describe, expect, it } from 'vitest'
import { PermanentFailure } from '../../src/domain/errors.ts'
import type { DeadLetter, Delivery, Queue, TopicHandlers } from '../../src/domain/ports/queue.ts'

export interface QueueHarness {
  queue: Queue
  /** Moves the queue's time forward (delays and retry backoff elapse). */
  advance(ms: number): Promise<void>
  /** Resolves once no delivery is running or due. */
  idle(): Promise<void>
  dispose(): Promise<void>
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

/** The Queue port's contract; every adapter runs it. */
export function queueContract(name: string, make: MakeQueue) {
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
  })
}
