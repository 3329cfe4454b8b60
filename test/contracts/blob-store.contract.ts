import { describe, expect, it } from 'vitest'
import type { BlobStore } from '../../src/domain/ports/blobs.ts'

const bytes = (...values: number[]) => new Uint8Array(values)

/** The BlobStore port's contract; `make` returns an empty store. */
export function blobStoreContract(name: string, make: () => Promise<BlobStore>) {
  describe(`BlobStore contract [${name}]`, () => {
    it('round-trips bytes, size, content type and metadata', async () => {
      const store = await make()
      const body = bytes(0xff, 0xd8, 0xff, 0, 1, 2, 255)
      await store.put('blogs/3/12/a_B-c.jpg', body, {
        contentType: 'image/jpeg',
        metadata: { owner: '9007199254740993' },
      })
      const blob = await store.get('blogs/3/12/a_B-c.jpg')
      expect(blob).not.toBeNull()
      expect([...blob!.body]).toEqual([...body])
      expect(blob!.size).toBe(7)
      expect(blob!.contentType).toBe('image/jpeg')
      expect(blob!.metadata).toEqual({ owner: '9007199254740993' })
    })

    it('a miss is null; metadata defaults to {}', async () => {
      const store = await make()
      expect(await store.get('blogs/0/0/none.png')).toBeNull()
      await store.put('x.png', bytes(1), { contentType: 'image/png' })
      expect((await store.get('x.png'))!.metadata).toEqual({})
    })

    it('put replaces; the stored copy is independent of the caller’s buffer', async () => {
      const store = await make()
      const body = bytes(1, 2, 3)
      await store.put('a/b.gif', body, { contentType: 'image/gif' })
      body[0] = 9
      expect([...(await store.get('a/b.gif'))!.body]).toEqual([1, 2, 3])
      await store.put('a/b.gif', bytes(4), { contentType: 'image/webp', metadata: { owner: '2' } })
      const blob = await store.get('a/b.gif')
      expect([...blob!.body]).toEqual([4])
      expect(blob!.contentType).toBe('image/webp')
      expect(blob!.metadata).toEqual({ owner: '2' })
    })

    it('delete tells whether there was an object, and removes it', async () => {
      const store = await make()
      await store.put('d/e.png', bytes(1), { contentType: 'image/png' })
      expect(await store.delete('d/e.png')).toBe(true)
      expect(await store.get('d/e.png')).toBeNull()
      expect(await store.delete('d/e.png')).toBe(false)
    })

    it('refuses names that could leave the store, before touching it', async () => {
      const store = await make()
      const bad = ['', '/abs.png', '../x.png', 'a/../../x.png', 'a/./b.png', 'a//b.png', 'a\\b.png']
      bad.push('a\0.png', 'sp ace.png', 'x'.repeat(257), 'a/')
      for (const name of bad) {
        await expect(store.put(name, bytes(1), { contentType: 'image/png' })).rejects.toThrow(
          RangeError
        )
        await expect(store.get(name)).rejects.toThrow(RangeError)
        await expect(store.delete(name)).rejects.toThrow(RangeError)
      }
    })
  })
}
