import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { DomainError } from '../../../domain/errors.ts'
import { blogImageName, deleteBlogImage, uploadBlogImage } from '../../../domain/uploads/images.ts'
import type { AppEnv } from '../../http/env.ts'
import {
  FailureSchema,
  hmdpValidationHook,
  loginRequired,
  me,
  ok,
  okResponse,
  refuse,
  responses,
  TAG,
} from './envelope.ts'

/** Room for the multipart framing around the file itself. */
const MULTIPART_OVERHEAD = 16 * 1024

const tooLarge = (max: number) => `图片太大（最大 ${Math.floor(max / 1024)} KB）`
const UNSUPPORTED = '只支持 JPEG、PNG、GIF、WebP 图片'

/** The per-route body limit: the stream is cut off past UPLOAD_MAX_BYTES (+ framing), 413. */
const uploadLimit: MiddlewareHandler<AppEnv> = (c, next) => {
  const max = c.var.deps.config.hmdp.uploadMaxBytes
  return bodyLimit({
    maxSize: max + MULTIPART_OVERHEAD,
    onError: (c) => refuse(c, 413, tooLarge(max), 'PAYLOAD_TOO_LARGE'),
  })(c, next)
}

const errorBody = (description: string) => ({
  description,
  content: { 'application/json': { schema: FailureSchema } },
})

const upload = createRoute({
  method: 'post',
  path: '/upload/blog',
  tags: [TAG],
  summary: 'Upload a blog photo (multipart `file`); `data` is its name, shown as /imgs + name',
  description:
    'The type is decided by the bytes (JPEG, PNG, GIF, WebP), never by the client’s claim. Stored under `/blogs/<0-15>/<0-15>/<random id>.<ext>` in the BlobStore (R2 on Workers, DATA_DIR/blobs on Node). Needs a login (the original let anyone upload), so that only the uploader may delete it.',
  security: [{ bearerAuth: [] }],
  middleware: [loginRequired, uploadLimit] as const,
  request: {
    body: {
      required: true,
      content: {
        'multipart/form-data': {
          schema: z.object({
            file: z.any().openapi({ type: 'string', format: 'binary' }),
          }),
        },
      },
    },
  },
  responses: {
    200: okResponse(
      z.string().openapi({ example: '/blogs/3/12/Qm9vb2J5VHJhcHNBcmVGdW4.jpg' }),
      'HmdpUploaded',
      'Stored'
    ),
    400: responses.badRequest,
    401: responses.unauthorized,
    413: errorBody('Larger than UPLOAD_MAX_BYTES (`code` PAYLOAD_TOO_LARGE)'),
    415: errorBody('Not a JPEG, PNG, GIF or WebP image (`code` UNSUPPORTED_MEDIA_TYPE)'),
    503: responses.unavailable,
  },
})

const remove = createRoute({
  method: 'get',
  path: '/upload/blog/delete',
  tags: [TAG],
  summary: 'Delete a photo I uploaded',
  description:
    'Only the uploader may delete (the original deleted any file, for anyone). `name` as returned by the upload, with or without the /imgs prefix. Refusal: "图片不存在" (NOT_FOUND) for unknown names, malformed names and other users’ photos alike.',
  security: [{ bearerAuth: [] }],
  middleware: [loginRequired] as const,
  request: {
    query: z.object({ name: z.string().max(300).openapi({ example: '/blogs/3/12/x.jpg' }) }),
  },
  responses: {
    200: okResponse(z.null(), 'HmdpImageDeleted', 'Deleted'),
    400: responses.badRequest,
    401: responses.unauthorized,
    503: responses.unavailable,
  },
})

export const hmdpUploads = new OpenAPIHono<AppEnv>({ defaultHook: hmdpValidationHook })
  .openapi(upload, async (c) => {
    const max = c.var.deps.config.hmdp.uploadMaxBytes
    const form = c.req.header('content-type')?.toLowerCase().startsWith('multipart/form-data')
      ? c.req.valid('form')
      : undefined
    const file: unknown = form?.file
    if (!(file instanceof File)) {
      return refuse(c, 400, '请选择图片（multipart 字段 file）', 'VALIDATION_FAILED')
    }
    if (file.size > max) return refuse(c, 413, tooLarge(max), 'PAYLOAD_TOO_LARGE')
    const bytes = new Uint8Array(await file.arrayBuffer())
    try {
      const name = await uploadBlogImage(c.var.deps, { maxBytes: max }, me(c), bytes)
      return ok(c, name)
    } catch (e) {
      if (e instanceof DomainError && e.details?.reason === 'too-large') {
        return refuse(c, 413, tooLarge(max), 'PAYLOAD_TOO_LARGE')
      }
      if (e instanceof DomainError && e.details?.reason === 'unsupported-type') {
        return refuse(c, 415, UNSUPPORTED, 'UNSUPPORTED_MEDIA_TYPE')
      }
      throw e
    }
  })
  .openapi(remove, async (c) => {
    try {
      await deleteBlogImage(c.var.deps, me(c), c.req.valid('query').name)
      return ok(c, null)
    } catch (e) {
      if (e instanceof DomainError && e.code === 'NOT_FOUND') {
        return refuse(c, 200, '图片不存在', 'NOT_FOUND')
      }
      throw e
    }
  })

/**
 * `GET /imgs/...`: uploaded photos from the BlobStore; any other path falls through to the static
 * files of public/imgs (seeded shop and type images) through the app's asset source, so pages
 * show them without the course's nginx. Mounted at the root whatever HMDP_PREFIX is.
 */
export const hmdpImages = new OpenAPIHono<AppEnv>()
hmdpImages.get('/imgs/*', async (c) => {
  const name = blogImageName(c.req.path.slice('/imgs'.length))
  const blob = name ? await c.var.deps.blobs.get(name) : null
  if (!blob) return c.notFound()
  return c.body(blob.body, 200, {
    'content-type': blob.contentType,
    'content-length': String(blob.size),
    // Names are random and never reused: the bytes behind a name never change.
    'cache-control': 'public, max-age=31536000, immutable',
    'x-content-type-options': 'nosniff',
  })
})
hmdpImages.openAPIRegistry.registerPath({
  method: 'get',
  path: '/imgs/{name}',
  tags: [TAG],
  summary: 'An uploaded photo, or a static image of public/imgs',
  description:
    '`name` may contain slashes (e.g. `blogs/3/12/<id>.jpg`, `types/ms.png`, `shops/food-1.svg`). 404 when neither has it.',
  request: {
    params: z.object({ name: z.string().openapi({ param: { name: 'name', in: 'path' } }) }),
  },
  responses: {
    200: {
      description: 'The image',
      content: { 'image/*': { schema: { type: 'string', format: 'binary' } } },
    },
    404: { description: 'No such image' },
  },
})
