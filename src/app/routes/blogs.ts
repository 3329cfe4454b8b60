import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import {
  blogsOf,
  createBlog,
  EARLIEST_LIKERS,
  earliestLikers,
  getBlog,
  hotBlogs,
  setLike,
} from '../../domain/social/blogs.ts'
import type { BlogView } from '../../domain/social/views.ts'
import { requireUser } from '../http/auth.ts'
import type { AppEnv } from '../http/env.ts'
import { problemResponse } from '../http/problem.ts'
import { socialDeps } from '../http/social.ts'
import { validationHook } from '../http/validation.ts'
import { IdString, PublicUserSchema } from './users.ts'

export const BlogSchema = z
  .object({
    id: IdString.openapi({ example: '23' }),
    title: z.string().openapi({ example: '无尽浪漫的夜晚丨在万花丛中摇晃着红酒杯🍷品战斧牛排🥩' }),
    content: z.string(),
    images: z.array(z.string()).openapi({ example: ['/imgs/blogs/7/14/4771fefb.jpg'] }),
    shopId: IdString.openapi({ example: '4' }),
    author: PublicUserSchema,
    likes: z.number().int().openapi({ description: 'Number of likes' }),
    likedByMe: z
      .boolean()
      .openapi({ description: 'Whether the caller likes it (false when anonymous)' }),
    createdAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('Blog')

export const blogJson = (b: BlogView) => ({
  id: b.id,
  title: b.title,
  content: b.content,
  images: b.images,
  shopId: b.shopId,
  author: b.author,
  likes: b.likes,
  likedByMe: b.likedByMe,
  createdAt: new Date(b.createdAt).toISOString(),
})

const ImageRef = z
  .string()
  .max(512)
  .regex(/^(https?:\/\/[^\s]+|\/[^\s]*)$/, 'expected an http(s) URL or an absolute path')

const NewBlogSchema = z
  .object({
    shopId: IdString.openapi({ example: '1' }),
    title: z.string().trim().min(1).max(100),
    content: z.string().trim().min(1).max(5000),
    images: z.array(ImageRef).max(9, 'at most 9 images').default([]),
  })
  .openapi('NewBlog')

const BlogPage = z
  .object({ page: z.number().int(), size: z.number().int(), items: z.array(BlogSchema) })
  .openapi('BlogPage')

const PageQuery = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1).openapi({ example: 1 }),
  size: z.coerce.number().int().min(1).max(50).default(10).openapi({ example: 10 }),
})

const blogParams = z.object({ id: IdString.openapi({ param: { name: 'id', in: 'path' } }) })

const LikeResult = z
  .object({
    liked: z.boolean(),
    likes: z.number().int(),
    changed: z.boolean().openapi({ description: 'false when it already was in that state' }),
  })
  .openapi('LikeResult')

const postBlog = createRoute({
  method: 'post',
  path: '/blogs',
  tags: ['blogs'],
  summary: 'Publish a blog (note) about a shop',
  description:
    'Up to 9 images (http(s) URLs or absolute paths). The blog reaches followers’ feeds through the queue (`feed.fanout`) after the response.',
  security: [{ bearerAuth: [] }],
  middleware: [requireUser] as const,
  request: {
    body: { required: true, content: { 'application/json': { schema: NewBlogSchema } } },
  },
  responses: {
    201: { description: 'Published', content: { 'application/json': { schema: BlogSchema } } },
    400: problemResponse('Invalid input, or no such shop (`field: shopId`)'),
    401: problemResponse('No valid session'),
  },
})

const hot = createRoute({
  method: 'get',
  path: '/blogs/hot',
  tags: ['blogs'],
  summary: 'Most liked blogs',
  description: 'By like count, then newest. `likedByMe` needs a session (optional).',
  request: { query: PageQuery },
  responses: {
    200: { description: 'A page', content: { 'application/json': { schema: BlogPage } } },
    400: problemResponse('Invalid page'),
  },
})

const getOne = createRoute({
  method: 'get',
  path: '/blogs/{id}',
  tags: ['blogs'],
  summary: 'A blog with its author, like count and whether I like it',
  request: { params: blogParams },
  responses: {
    200: { description: 'The blog', content: { 'application/json': { schema: BlogSchema } } },
    400: problemResponse('Malformed id'),
    404: problemResponse('BLOG_NOT_FOUND'),
  },
})

const likeRoute = (method: 'put' | 'delete') =>
  createRoute({
    method,
    path: '/blogs/{id}/like',
    tags: ['blogs'],
    summary: method === 'put' ? 'Like a blog (idempotent)' : 'Unlike a blog (idempotent)',
    description:
      'The like row, the like count (Postgres) and the likers ZSET (Redis) change together; concurrent toggles leave them consistent.',
    security: [{ bearerAuth: [] }],
    middleware: [requireUser] as const,
    request: { params: blogParams },
    responses: {
      200: {
        description: 'The new state',
        content: { 'application/json': { schema: LikeResult } },
      },
      400: problemResponse('Malformed id'),
      401: problemResponse('No valid session'),
      404: problemResponse('BLOG_NOT_FOUND'),
    },
  })

const likers = createRoute({
  method: 'get',
  path: '/blogs/{id}/likes',
  tags: ['blogs'],
  summary: `The ${EARLIEST_LIKERS} earliest likers`,
  request: { params: blogParams },
  responses: {
    200: {
      description: 'Earliest first',
      content: {
        'application/json': { schema: z.object({ items: z.array(PublicUserSchema) }) },
      },
    },
    400: problemResponse('Malformed id'),
    404: problemResponse('BLOG_NOT_FOUND'),
  },
})

const ofUser = createRoute({
  method: 'get',
  path: '/users/{id}/blogs',
  tags: ['blogs'],
  summary: 'A user’s blogs, newest first',
  request: {
    params: z.object({ id: IdString.openapi({ param: { name: 'id', in: 'path' } }) }),
    query: PageQuery,
  },
  responses: {
    200: { description: 'A page', content: { 'application/json': { schema: BlogPage } } },
    400: problemResponse('Malformed id or page'),
    404: problemResponse('USER_NOT_FOUND'),
  },
})

const viewer = (c: { var: AppEnv['Variables'] }) => c.var.session?.user.id ?? null

export const blogRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(postBlog, async (c) => {
    const blog = await createBlog(
      socialDeps(c.var.deps),
      c.var.session!.user.id,
      c.req.valid('json')
    )
    return c.json(blogJson(blog), 201)
  })
  // Registered before /blogs/{id} so 'hot' is not taken for an id.
  .openapi(hot, async (c) => {
    const { page, size } = c.req.valid('query')
    const items = await hotBlogs(socialDeps(c.var.deps), page, size, viewer(c))
    return c.json({ page, size, items: items.map(blogJson) }, 200)
  })
  .openapi(getOne, async (c) => {
    const blog = await getBlog(socialDeps(c.var.deps), c.req.valid('param').id, viewer(c))
    return c.json(blogJson(blog), 200)
  })
  .openapi(likeRoute('put'), async (c) => {
    const deps = socialDeps(c.var.deps)
    return c.json(await setLike(deps, c.req.valid('param').id, c.var.session!.user.id, true), 200)
  })
  .openapi(likeRoute('delete'), async (c) => {
    const deps = socialDeps(c.var.deps)
    return c.json(await setLike(deps, c.req.valid('param').id, c.var.session!.user.id, false), 200)
  })
  .openapi(likers, async (c) => {
    const items = await earliestLikers(socialDeps(c.var.deps), c.req.valid('param').id)
    return c.json({ items }, 200)
  })
  .openapi(ofUser, async (c) => {
    const { page, size } = c.req.valid('query')
    const deps = socialDeps(c.var.deps)
    const items = await blogsOf(deps, c.req.valid('param').id, page, size, viewer(c))
    return c.json({ page, size, items: items.map(blogJson) }, 200)
  })
