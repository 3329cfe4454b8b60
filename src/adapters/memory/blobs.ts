import { assertBlobName, type Blob, type BlobStore } from '../../domain/ports/blobs.ts'

/** BlobStore in process memory (tests, and Node runs without a data directory). */
export class MemoryBlobStore implements BlobStore {
  readonly #objects = new Map<string, Blob>()

  async put(
    name: string,
    body: Uint8Array<ArrayBuffer>,
    options: { contentType: string; metadata?: Record<string, string> }
  ): Promise<void> {
    assertBlobName(name)
    this.#objects.set(name, {
      body: body.slice(),
      size: body.byteLength,
      contentType: options.contentType,
      metadata: { ...options.metadata },
    })
  }

  async get(name: string): Promise<Blob | null> {
    assertBlobName(name)
    const blob = this.#objects.get(name)
    return blob ? { ...blob, body: blob.body.slice(), metadata: { ...blob.metadata } } : null
  }

  async delete(name: string): Promise<boolean> {
    assertBlobName(name)
    return this.#objects.delete(name)
  }
}
