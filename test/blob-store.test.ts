import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MemoryBlobStore } from '../src/adapters/memory/blobs.ts'
import { ManualClock } from '../src/adapters/memory/clock.ts'
import { MemoryIds } from '../src/adapters/memory/ids.ts'
import { isR2Bucket, R2BlobStore, type R2BucketLike } from '../src/adapters/r2/blobs.ts'
import { DirectoryBlobStore } from '../src/adapters/system/directory-blobs.ts'
import {
  blogImageName,
  deleteBlogImage,
  sniffImage,
  uploadBlogImage,
} from '../src/domain/uploads/images.ts'
import { blobStoreContract } from './contracts/blob-store.contract.ts'

/**
 * A stand-in for a Workers R2 bucket binding, honouring the documented API shape: `put` stores
 * `httpMetadata`/`customMetadata` and resolves an object description, `get` resolves an
 * R2ObjectBody (`arrayBuffer()`, `size`, metadata) or null, `head` the description or null,
 * `delete` takes a key or keys and is silent about misses.
 */
class FakeR2Bucket implements R2BucketLike {
  readonly objects = new Map<
    string,
    {
      data: Uint8Array
      httpMetadata: { contentType?: string }
      customMetadata: Record<string, string>
    }
  >()

  async put(
    key: string,
    value: ArrayBuffer | ArrayBufferView,
    options: {
      httpMetadata?: { contentType?: string }
      customMetadata?: Record<string, string>
    } = {}
  ) {
    const data =
      value instanceof ArrayBuffer
        ? new Uint8Array(value.slice(0))
        : new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength))
    const entry = {
      data,
      httpMetadata: { ...options.httpMetadata },
      customMetadata: { ...options.customMetadata },
    }
    this.objects.set(key, entry)
    return this.#describe(key, entry)
  }

  async get(key: string) {
    const entry = this.objects.get(key)
    if (!entry) return null
    return {
      ...this.#describe(key, entry),
      arrayBuffer: async () => entry.data.slice().buffer as ArrayBuffer,
    }
  }

  async head(key: string) {
    const entry = this.objects.get(key)
    return entry ? this.#describe(key, entry) : null
  }

  async delete(keys: string | string[]) {
    for (const key of Array.isArray(keys) ? keys : [keys]) this.objects.delete(key)
  }

  #describe(key: string, e: { data: Uint8Array; httpMetadata: object; customMetadata: object }) {
    return {
      key,
      size: e.data.byteLength,
      httpMetadata: e.httpMetadata,
      customMetadata: e.customMetadata as Record<string, string>,
    }
  }
}

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

blobStoreContract('memory', async () => new MemoryBlobStore())
blobStoreContract('directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blobs-'))
  dirs.push(dir)
  return new DirectoryBlobStore(dir)
})
blobStoreContract('r2 (binding stand-in)', async () => new R2BlobStore(new FakeR2Bucket()))

describe('DirectoryBlobStore', () => {
  it('keeps everything inside its root and leaves no temporary files', async () => {
    const root = await mkdtemp(join(tmpdir(), 'blobs-'))
    dirs.push(root)
    const store = new DirectoryBlobStore(join(root, 'store'))
    await store.put('blogs/1/2/a.png', new Uint8Array([1]), { contentType: 'image/png' })
    expect(await readdir(root)).toEqual(['store'])
    expect((await readdir(join(root, 'store/blogs/1/2'))).sort()).toEqual([
      'a.png',
      'a.png.meta.json',
    ])
    await expect(store.get('blogs/1/2/a.png.meta.json')).rejects.toThrow(RangeError)
  })
})

describe('R2 binding detection', () => {
  it('recognises a binding and nothing else', () => {
    expect(isR2Bucket(new FakeR2Bucket())).toBe(true)
    for (const v of [undefined, null, 'bucket', {}, { get() {}, put() {} }]) {
      expect(isR2Bucket(v)).toBe(false)
    }
  })
})

describe('blog photos (domain)', () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0])
  const deps = () => ({ blobs: new MemoryBlobStore(), ids: new MemoryIds(new ManualClock()) })

  it('sniffs JPEG, PNG, GIF and WebP by their bytes only', () => {
    const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0))
    expect(sniffImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpg')
    expect(sniffImage(png)).toBe('png')
    expect(sniffImage(new Uint8Array(ascii('GIF89a...')))).toBe('gif')
    expect(sniffImage(new Uint8Array(ascii('GIF87a')))).toBe('gif')
    expect(sniffImage(new Uint8Array(ascii('RIFF\0\0\0\0WEBPVP8 ')))).toBe('webp')
    for (const s of ['', '<svg/>', 'RIFF\0\0\0\0WAVE', '<html>', '\xff\xd8']) {
      expect(sniffImage(new Uint8Array(ascii(s)))).toBeNull()
    }
  })

  it('names land in blogs/<0-15>/<0-15>/ and are refused when they could point elsewhere', async () => {
    const d = deps()
    for (let i = 0; i < 50; i++) {
      const name = await uploadBlogImage(d, { maxBytes: 100 }, '7', png)
      expect(name).toMatch(/^\/blogs\/(\d|1[0-5])\/(\d|1[0-5])\/[A-Za-z0-9_-]{22}\.png$/)
      expect(blogImageName(name)).toBe(name.slice(1))
      expect(blogImageName(`/imgs${name}`)).toBe(name.slice(1))
    }
    for (const bad of [
      '/blogs/1/2/../../../etc/passwd',
      '/blogs/16/1/AAAAAAAAAAAAAAAAAAAAAA.png',
      '/blogs/1/2/AAAAAAAAAAAAAAAAAAAAAA.svg',
      '/other/1/2/AAAAAAAAAAAAAAAAAAAAAA.png',
      '/blogs/1/2/AAAAAAAAAAAAAAAAAAAAA/.png',
      '',
    ]) {
      expect(blogImageName(bad)).toBeNull()
    }
  })

  it('refuses oversized and non-image bodies; only the uploader deletes', async () => {
    const d = deps()
    await expect(uploadBlogImage(d, { maxBytes: 5 }, '7', png)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { reason: 'too-large' },
    })
    const text = new TextEncoder().encode('<svg onload="alert(1)"/>')
    await expect(uploadBlogImage(d, { maxBytes: 100 }, '7', text)).rejects.toMatchObject({
      details: { reason: 'unsupported-type' },
    })
    const name = await uploadBlogImage(d, { maxBytes: 100 }, '7', png)
    await expect(deleteBlogImage(d, '8', name)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    expect(await d.blobs.get(name.slice(1))).not.toBeNull()
    await deleteBlogImage(d, '7', `/imgs${name}`)
    expect(await d.blobs.get(name.slice(1))).toBeNull()
    await expect(deleteBlogImage(d, '7', name)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
