/** A stored object: its bytes and what was recorded with them. */
export interface Blob {
  body: Uint8Array<ArrayBuffer>
  /** Size in bytes (= body.byteLength). */
  size: number
  /** The MIME type given to `put`, e.g. 'image/jpeg'. */
  contentType: string
  /** Small string facts given to `put` (e.g. `owner`: the uploader's user id). */
  metadata: Record<string, string>
}

/**
 * Binary objects by name (uploaded photos): a local directory on Node, R2 on Workers, memory in
 * tests. Names are paths relative to the store such as `blogs/7/14/<id>.jpg`: segments of
 * `[A-Za-z0-9_.-]` joined by `/`, no leading `/`, no `.`/`..` segment, at most 256 characters.
 * Adapters refuse any other name with a RangeError before touching storage, so a name can never
 * reach outside the store. Sizes are bytes. When the backing store cannot be reached, methods
 * reject with `DependencyUnavailable('blobs')`.
 */
export interface BlobStore {
  /**
   * Stores `body` under `name`, replacing any object of that name. Resolves once it is durable
   * (a later `get` in any isolate/process sees it).
   */
  put(
    name: string,
    body: Uint8Array<ArrayBuffer>,
    options: { contentType: string; metadata?: Record<string, string> }
  ): Promise<void>
  /** The object stored under `name`, or null when there is none. */
  get(name: string): Promise<Blob | null>
  /** Removes the object; true when there was one, false when there was nothing to remove. */
  delete(name: string): Promise<boolean>
}

const SEGMENT = /^[A-Za-z0-9_.-]+$/

/** Whether `name` is a valid BlobStore name (see BlobStore). Adapters check every name with it. */
export function isBlobName(name: string): boolean {
  if (name.length === 0 || name.length > 256) return false
  return name.split('/').every((s) => SEGMENT.test(s) && s !== '.' && s !== '..')
}

/** Throws a RangeError unless `name` is a valid BlobStore name. */
export function assertBlobName(name: string): void {
  if (!isBlobName(name)) throw new RangeError(`not a valid blob name: ${JSON.stringify(name)}`)
}
