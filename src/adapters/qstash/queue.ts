import { Client } from '@upstash/qstash'
import { DependencyUnavailable } from '../../domain/errors.ts'
import type {
  BatchItem,
  DeliveryVerifier,
  PublishOptions,
  PublishReceipt,
  Queue,
} from '../../domain/ports/queue.ts'
import { QStashSignature, type QStashSignatureOptions } from './signature.ts'

export interface QStashConfig {
  /** QSTASH_URL (e.g. https://qstash.upstash.io) */
  url: string
  /** QSTASH_TOKEN */
  token: string
}

export interface QStashQueueOptions {
  /** Absolute URL QStash delivers `topic` to (the app's consumer endpoint). */
  consumerUrl: (topic: string) => string
  /** Absolute URL QStash posts the failure callback to once retries are exhausted. */
  deadLetterUrl: (topic: string) => string
}

/** The QStash client. `devMode: false` so a stray QSTASH_DEV in process.env cannot redirect it. */
export function createQStashClient(config: QStashConfig): Client {
  return new Client({
    baseUrl: config.url,
    token: config.token,
    devMode: false,
    enableTelemetry: false,
    retry: { retries: 2, backoff: (n) => 50 * 2 ** n },
  })
}

/**
 * Publishes to the app's own consumer endpoint through QStash, which stores the message, retries
 * failed deliveries with backoff, and finally calls the dead-letter URL (a failure callback).
 */
export class QStashQueue implements Queue {
  readonly #client: Client
  readonly #options: QStashQueueOptions

  constructor(client: Client, options: QStashQueueOptions) {
    this.#client = client
    this.#options = options
  }

  /** What `publishJSON` and each `batchJSON` item carry for one message. */
  #request(topic: string, body: unknown, opts: PublishOptions) {
    return {
      url: this.#options.consumerUrl(topic),
      body: body ?? null,
      retries: opts.retries ?? 3,
      failureCallback: this.#options.deadLetterUrl(topic),
      ...(opts.delayMs ? { delay: Math.ceil(opts.delayMs / 1000) } : {}),
      ...(opts.dedupId !== undefined ? { deduplicationId: opts.dedupId } : {}),
    }
  }

  async publish(topic: string, body: unknown, opts: PublishOptions = {}): Promise<PublishReceipt> {
    try {
      const res = await this.#client.publishJSON(this.#request(topic, body, opts))
      return { messageId: res.messageId, deduplicated: res.deduplicated === true }
    } catch (e) {
      throw new DependencyUnavailable('queue', e)
    }
  }

  /** One `POST /v2/batch` (the SDK's `batchJSON`); QStash answers per message, in order. */
  async publishBatch(items: readonly BatchItem[]): Promise<PublishReceipt[]> {
    if (items.length === 0) return []
    let res: unknown[]
    try {
      res = await this.#client.batchJSON(
        items.map((it) => this.#request(it.topic, it.body, it.opts ?? {}))
      )
    } catch (e) {
      throw new DependencyUnavailable('queue', e)
    }
    // A message QStash did not accept answers an error object instead of a message id.
    const receipts = res.map((r) => r as { messageId?: unknown; deduplicated?: unknown } | null)
    const refused = receipts.findIndex((r) => typeof r?.messageId !== 'string')
    if (receipts.length !== items.length || refused >= 0) {
      const detail = refused >= 0 ? JSON.stringify(res[refused]).slice(0, 200) : 'short answer'
      throw new DependencyUnavailable('queue', new Error(`batch item not accepted: ${detail}`))
    }
    return receipts.map((r) => ({
      messageId: r!.messageId as string,
      deduplicated: r!.deduplicated === true,
    }))
  }
}

export interface QStashSigningKeys {
  /** QSTASH_CURRENT_SIGNING_KEY */
  current: string
  /** QSTASH_NEXT_SIGNING_KEY */
  next: string
}

/**
 * Checks `Upstash-Signature` as the SDK's Receiver does (current key, then next key; 5 s clock
 * tolerance), without its per-request key imports; `options.hashing` (Node: node-hashing.ts)
 * replaces Web Crypto with synchronous hashing (signature.ts).
 */
export class QStashVerifier implements DeliveryVerifier {
  readonly #signature: QStashSignature

  constructor(keys: QStashSigningKeys, options: QStashSignatureOptions = {}) {
    this.#signature = new QStashSignature([keys.current, keys.next], {
      clockToleranceSeconds: 5,
      ...options,
    })
  }

  async verify(input: { signature: string | null; body: string; url: string }): Promise<boolean> {
    if (!input.signature) return false
    return this.#signature.verify({ signature: input.signature, body: input.body, url: input.url })
  }
}
