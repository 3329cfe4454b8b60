import { DependencyUnavailable } from '../../domain/errors.ts'
import { assertBlobName, type Blob, type BlobStore } from '../../domain/ports/blobs.ts'

/**
 * The part of a Workers R2 bucket binding (`[[r2_buckets]]` in wrangler.toml) this adapter uses,
 * declared structurally so nothing imports Cloudflare's types.
 */
export interface R2BucketLike {
  put(
    key: string,
    value: ArrayBuffer | ArrayBufferView,
    options?: {
      httpMetadata?: { contentType?: string }
      customMetadata?: Record<string, string>
    }
  ): Promise<unknown>
  get(key: string): Promise<{
    arrayBuffer(): Promise<ArrayBuffer>
    size: number
    httpMetadata?: { contentType?: string }
    customMetadata?: Record<string, string>
  } | null>
  head(key: string): Promise<unknown | null>
  delete(key: string | string[]): Promise<void>
}

/** Whether `value` looks like an R2 bucket binding. */
export function isR2Bucket(value: unknown): value is R2BucketLike {
  const v = value as Partial<R2BucketLike> | null
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.put === 'function' &&
    typeof v.get === 'function' &&
    typeof v.head === 'function' &&
    typeof v.delete === 'function'
  )
}

/** BlobStore on Cloudflare R2 through a Worker binding: content type and metadata ride along. */
export class R2BlobStore implements BlobStore {
  readonly #bucket: R2BucketLike

  constructor(bucket: R2BucketLike) {
    this.#bucket = bucket
  }

  async put(
    name: string,
    body: Uint8Array<ArrayBuffer>,
    options: { contentType: string; metadata?: Record<string, string> }
  ): Promise<void> {
    assertBlobName(name)
    await guard(() =>
      this.#bucket.put(name, body, {
        httpMetadata: { contentType: options.contentType },
        customMetadata: { ...options.metadata },
      })
    )
  }

  async get(name: string): Promise<Blob | null> {
    assertBlobName(name)
    return guard(async () => {
      const object = await this.#bucket.get(name)
      if (!object) return null
      const body = new Uint8Array(await object.arrayBuffer())
      return {
        body,
        size: body.byteLength,
        contentType: object.httpMetadata?.contentType ?? 'application/octet-stream',
        metadata: { ...object.customMetadata },
      }
    })
  }

  async delete(name: string): Promise<boolean> {
    assertBlobName(name)
    return guard(async () => {
      // R2's delete is silent about misses; head first tells the caller whether there was one.
      if (!(await this.#bucket.head(name))) return false
      await this.#bucket.delete(name)
      return true
    })
  }
}

async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (e) {
    throw new DependencyUnavailable('blobs', e)
  }
}
