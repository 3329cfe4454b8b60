import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, resolve, sep } from 'node:path'
import { assertBlobName, type Blob, type BlobStore } from '../../domain/ports/blobs.ts'

/**
 * BlobStore in a local directory (Node, Deno, Bun): `<root>/<name>` holds the bytes and
 * `<root>/<name>.meta.json` the content type and metadata. Writes go to a temporary file first and
 * are renamed into place, so a reader never sees half an object. Every name is validated and the
 * resolved path re-checked to lie under `root`.
 */
export class DirectoryBlobStore implements BlobStore {
  readonly #root: string

  constructor(root: string) {
    this.#root = resolve(root)
  }

  #path(name: string): string {
    assertBlobName(name)
    if (name.endsWith('.meta.json') || name.endsWith('.tmp')) {
      throw new RangeError('reserved blob name suffix')
    }
    const file = resolve(this.#root, name)
    if (!file.startsWith(this.#root + sep)) throw new RangeError('blob name leaves the store')
    return file
  }

  async put(
    name: string,
    body: Uint8Array<ArrayBuffer>,
    options: { contentType: string; metadata?: Record<string, string> }
  ): Promise<void> {
    const file = this.#path(name)
    await mkdir(dirname(file), { recursive: true })
    const meta = JSON.stringify({
      contentType: options.contentType,
      metadata: options.metadata ?? {},
    })
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
    await writeFile(`${tmp}.meta`, meta)
    await rename(`${tmp}.meta`, `${file}.meta.json`)
    await writeFile(tmp, body)
    await rename(tmp, file)
  }

  async get(name: string): Promise<Blob | null> {
    const file = this.#path(name)
    try {
      const [bytes, meta] = await Promise.all([
        readFile(file),
        readFile(`${file}.meta.json`, 'utf8'),
      ])
      const parsed = JSON.parse(meta) as { contentType: string; metadata: Record<string, string> }
      const body = new Uint8Array(bytes)
      return {
        body,
        size: body.byteLength,
        contentType: parsed.contentType,
        metadata: parsed.metadata,
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw e
    }
  }

  async delete(name: string): Promise<boolean> {
    const file = this.#path(name)
    try {
      await rm(file)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw e
    } finally {
      await rm(`${file}.meta.json`, { force: true })
    }
    return true
  }
}
