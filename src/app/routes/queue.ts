import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { PermanentFailure } from '../../domain/errors.ts'
import type { TopicHandler } from '../../domain/ports/queue.ts'
import type { AppEnv } from '../http/env.ts'
import { problem, problemResponse } from '../http/problem.ts'
import { validationHook } from '../http/validation.ts'
import { errorFields } from '../log.ts'

const TopicParams = z.object({
  topic: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{0,63}$/)
    .openapi({ param: { name: 'topic', in: 'path' }, example: 'orders.persist' }),
})

const signature = z.object({
  'upstash-signature': z
    .string()
    .optional()
    .openapi({ description: 'QStash JWT over the raw body' }),
})

const Ack = z.object({ ok: z.literal(true) }).openapi('QueueAck')

const common = {
  tags: ['internal'],
  request: { params: TopicParams, headers: signature },
  responses: {
    200: { description: 'Processed', content: { 'application/json': { schema: Ack } } },
    400: problemResponse(
      'VALIDATION_FAILED: not a failure callback / undecodable source (dead-letter route; non-retryable)'
    ),
    401: problemResponse('Missing or invalid signature'),
    404: problemResponse('No consumer for this topic'),
    489: problemResponse('Will never succeed: do not retry (QStash dead-letters it at once)'),
    500: problemResponse('Failed: the queue retries later'),
  },
}

const deliver = createRoute({
  ...common,
  method: 'post',
  path: '/internal/queue/{topic}',
  summary: 'Queue delivery (QStash → consumer)',
  description:
    'Signed delivery of one message. The signature is checked against the raw body before anything is parsed.',
})

const dead = createRoute({
  ...common,
  method: 'post',
  path: '/internal/queue/{topic}/dead',
  summary: 'Dead-letter hand-off (QStash failure callback)',
  description:
    'Called once a message exhausted its retries; the body is QStash’s failure-callback payload.',
})

const FailureCallback = z.object({
  sourceBody: z.string(),
  sourceMessageId: z.string(),
  retried: z.number().int().nonnegative().default(0),
  status: z.number().int().optional(),
  body: z.string().optional(),
})

/**
 * The consumer endpoint. Verification comes first (401 otherwise); a handler error answers 500 so
 * the queue redelivers, PermanentFailure answers 489 so it dead-letters without retrying.
 */
export const queue = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(deliver, async (c) => {
    const raw = await authenticated(c)
    if (raw instanceof Response) return raw as never
    const handler = topicHandler(c, c.req.valid('param').topic)
    if (!handler) return unknownTopic(c) as never
    const topic = c.req.valid('param').topic
    const messageId = c.req.header('upstash-message-id') ?? 'unknown'
    const attempt = Number(c.req.header('upstash-retried') ?? 0)
    try {
      await handler.handle({ topic, body: parseJson(raw), messageId, attempt })
    } catch (e) {
      c.var.deps.log.warn('delivery failed', { topic, messageId, attempt, ...errorFields(e) })
      if (e instanceof PermanentFailure) {
        return problem(
          c,
          489 as never,
          'PERMANENT_FAILURE',
          e.message,
          {},
          {
            'upstash-nonretryable-error': 'true',
          }
        ) as never
      }
      return problem(
        c,
        500,
        'DELIVERY_FAILED',
        'The consumer failed; the queue will retry'
      ) as never
    }
    return c.json({ ok: true as const }, 200)
  })
  .openapi(dead, async (c) => {
    const raw = await authenticated(c)
    if (raw instanceof Response) return raw as never
    const topic = c.req.valid('param').topic
    const handler = topicHandler(c, topic)
    if (!handler) return unknownTopic(c) as never
    // Junk never becomes a 500: QStash would call back again and again. A body that is not a
    // failure callback, or whose source message cannot be decoded, is refused for good.
    let letter: { body: unknown; cb: z.infer<typeof FailureCallback>; response: string }
    try {
      const callback = FailureCallback.safeParse(parseJson(raw))
      if (!callback.success)
        return nonRetryable(c, 400, 'VALIDATION_FAILED', 'Not a failure callback')
      const cb = callback.data
      const response = cb.body ? decodeBase64(cb.body).slice(0, 200) : ''
      letter = { body: parseJson(decodeBase64(cb.sourceBody)), cb, response }
    } catch (e) {
      const what =
        e instanceof PermanentFailure ? 'Not a failure callback' : 'Undecodable sourceBody'
      return nonRetryable(c, 400, 'VALIDATION_FAILED', what)
    }
    const { cb, response } = letter
    await handler.deadLetter({
      topic,
      body: letter.body,
      messageId: cb.sourceMessageId,
      attempt: cb.retried,
      reason: `HTTP ${cb.status ?? '?'}${response ? `: ${response}` : ''}`,
    })
    return c.json({ ok: true as const }, 200)
  })

type Ctx = Context<AppEnv>

/** The raw body when the signature is valid, else the 401 response. */
async function authenticated(c: Ctx): Promise<string | Response> {
  const raw = await c.req.text()
  const { verifier, config } = c.var.deps
  const path = new URL(c.req.url).pathname
  const url = config.publicUrl ? `${config.publicUrl}${path}` : c.req.url
  const ok = await verifier.verify({
    signature: c.req.header('upstash-signature') ?? null,
    body: raw,
    url,
  })
  if (!ok) return problem(c, 401, 'INVALID_SIGNATURE', 'Missing or invalid queue signature')
  return raw
}

function nonRetryable(c: Ctx, status: 400, code: string, title: string): never {
  return problem(c, status, code, title, {}, { 'upstash-nonretryable-error': 'true' }) as never
}

function topicHandler(c: Ctx, topic: string): TopicHandler<unknown> | undefined {
  return c.var.deps.topics[topic] as TopicHandler<unknown> | undefined
}

function unknownTopic(c: Ctx): Response {
  return problem(c, 404, 'UNKNOWN_TOPIC', 'No consumer for this topic')
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? null : JSON.parse(text)
  } catch {
    throw new PermanentFailure('message body is not JSON')
  }
}

/** Strict: throws on anything but base64 of UTF-8 text. */
function decodeBase64(b64: string): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(
    Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))
  )
}
