import { DomainError } from '../errors.ts'
import type { BlobStore } from '../ports/blobs.ts'
import type { Ids } from '../ports/ids.ts'

/** Image formats we accept, recognised by their first bytes (never by the client's claim). */
export type ImageFormat = 'jpg' | 'png' | 'gif' | 'webp'

export const IMAGE_TYPES: Record<ImageFormat, string> = {
  jpg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
}

const startsWith = (bytes: Uint8Array, sig: readonly number[], at = 0) =>
  bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b)

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0))

/** The image format of `bytes` by its magic number, or null when it is none we accept. */
export function sniffImage(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpg'
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png'
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'gif'
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'webp'
  return null
}

/**
 * Blog photos live under `blogs/<d1>/<d2>/<id>.<ext>` (the original hmdp's layout: two levels of
 * 16 folders), `<id>` a 128-bit token from the Ids port. The public form of a name — what the
 * upload returns and the pages put after `/imgs` — has a leading slash: `/blogs/3/12/<id>.jpg`.
 */
const BLOG_IMAGE = /^\/?blogs\/(\d|1[0-5])\/(\d|1[0-5])\/[A-Za-z0-9_-]{22}\.(jpg|png|gif|webp)$/

/** The store name of a public blog-image name (`/imgs` prefix and extra slashes tolerated), or null. */
export function blogImageName(publicName: string): string | null {
  const name = publicName.replace(/^\/+(imgs\/+)?/, '').replace(/\/{2,}/g, '/')
  return BLOG_IMAGE.test(name) ? name : null
}

export interface UploadDeps {
  blobs: BlobStore
  ids: Ids
}

export interface UploadPolicy {
  /** Largest accepted photo, bytes. */
  maxBytes: number
}

/**
 * Stores a blog photo uploaded by `ownerId` and returns its public name (`/blogs/…`). Refuses
 * (DomainError) an empty or oversized body (`VALIDATION_FAILED` with `reason: 'too-large'`) and
 * anything that is not a JPEG, PNG, GIF or WebP by its bytes (`reason: 'unsupported-type'`).
 */
export async function uploadBlogImage(
  deps: UploadDeps,
  policy: UploadPolicy,
  ownerId: string,
  body: Uint8Array<ArrayBuffer>
): Promise<string> {
  if (body.byteLength > policy.maxBytes) {
    throw new DomainError('VALIDATION_FAILED', `image larger than ${policy.maxBytes} bytes`, {
      field: 'file',
      reason: 'too-large',
      maxBytes: policy.maxBytes,
    })
  }
  const format = sniffImage(body)
  if (!format) {
    throw new DomainError('VALIDATION_FAILED', 'not a JPEG, PNG, GIF or WebP image', {
      field: 'file',
      reason: 'unsupported-type',
    })
  }
  const id = deps.ids.token()
  const bits = Number.parseInt(deps.ids.digits(3), 10)
  const name = `blogs/${bits % 16}/${Math.floor(bits / 16) % 16}/${id}.${format}`
  await deps.blobs.put(name, body, {
    contentType: IMAGE_TYPES[format],
    metadata: { owner: ownerId },
  })
  return `/${name}`
}

/**
 * Deletes a blog photo, only for the user who uploaded it. Unknown or malformed names and photos
 * of other users are refused alike (`NOT_FOUND`), so nobody learns which names exist.
 */
export async function deleteBlogImage(
  deps: UploadDeps,
  ownerId: string,
  publicName: string
): Promise<void> {
  const name = blogImageName(publicName)
  const blob = name ? await deps.blobs.get(name) : null
  if (!name || !blob || blob.metadata.owner !== ownerId) {
    throw new DomainError('NOT_FOUND', 'no such image of yours', { field: 'name' })
  }
  await deps.blobs.delete(name)
}
