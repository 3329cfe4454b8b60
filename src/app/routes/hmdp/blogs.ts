import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { DomainError } from '../../../domain/errors.ts'
import { isDecimalId } from '../../../domain/ids.ts'
import {
  blogsOf,
  createBlog,
  earliestLikers,
  getBlog,
  hotBlogs,
  setLike,
} from '../../../domain/social/blogs.ts'
import { commonFollows, isFollowing, setFollow } from '../../../domain/social/follows.ts'
import { withLikedByMe } from '../../../domain/social/views.ts'
import type { AppEnv } from '../../http/env.ts'
import { socialDeps } from '../../http/social.ts'
import {
  Current,
  hmdpValidationHook,
  Id,
  IdParam,
  loginRequired,
  me,
  ok,
  okResponse,
  refuse,
  responses,
  TAG,
  viewer,
} from './envelope.ts'
import { BlogSchema, blogJson, UserSchema, userJson } from './shapes.ts'

/** Blogs per page (the original's MAX_PAGE_SIZE), and the feed's default page. */
export const BLOGS_PER_PAGE = 10

const authed = {
  tags: [TAG],
  middleware: [loginRequired],
  security: [{ bearerAuth: [] }],
}
const withId = { request: { params: IdParam } }
const errors = {
  400: responses.badRequest,
  401: responses.unauthorized,
  503: responses.unavailable,
}
const BlogList = z.array(BlogSchema)

/** An image of a blog: a path on this site (an upload: /imgs/blogs/…) or an http(s) URL. */
const IMAGE_REF = /^(https?:\/\/[^\s,]+|\/[^\s,]*)$/

const routes = {
  hot: createRoute({
    method: 'get',
    path: '/blog/hot',
    tags: [TAG],
    summary: `Most liked blogs, ${BLOGS_PER_PAGE} per page (public; isLike when logged in)`,
    request: { query: z.object({ current: Current }) },
    responses: { 200: okResponse(BlogList, 'HmdpHotBlogs', 'A page'), 400: responses.badRequest },
  }),
  ofMe: createRoute({
    ...authed,
    method: 'get',
    path: '/blog/of/me',
    summary: 'My blogs, newest first',
    request: { query: z.object({ current: Current }) },
    responses: { 200: okResponse(BlogList, 'HmdpMyBlogs', 'A page'), ...errors },
  }),
  ofUser: createRoute({
    ...authed,
    method: 'get',
    path: '/blog/of/user',
    summary: "A user's blogs, newest first",
    description: 'Refusal: "用户不存在！" (USER_NOT_FOUND).',
    request: { query: z.object({ id: Id, current: Current }) },
    responses: { 200: okResponse(BlogList, 'HmdpUserBlogs', 'A page'), ...errors },
  }),
  feed: createRoute({
    ...authed,
    method: 'get',
    path: '/blog/of/follow',
    summary: 'The feed: blogs of the users I follow, newest first (score/offset scroll)',
    description: `Send \`lastId\` = the previous \`minTime\` (first page: now) and \`offset\` = the previous \`offset\`. \`offset\` counts the entries with score \`minTime\` already seen, carried across pages whose entries all share one score, so equal timestamps are each served once (the original's rule was inverted). \`data\` is null at the end. Default page: ${BLOGS_PER_PAGE}.`,
    request: {
      query: z.object({
        lastId: z.coerce
          .number()
          .int()
          .min(0)
          .optional()
          .openapi({ description: 'Max score (ms)' }),
        offset: z.coerce.number().int().min(0).max(100_000).default(0),
        size: z.coerce.number().int().min(1).max(50).default(BLOGS_PER_PAGE),
      }),
    },
    responses: {
      200: okResponse(
        z
          .object({
            list: BlogList,
            minTime: z.number().int().openapi({ description: 'Score of the last entry (ms)' }),
            offset: z.number().int(),
          })
          .openapi('HmdpScrollResult'),
        'HmdpFeed',
        'A page'
      ),
      ...errors,
    },
  }),
  likes: createRoute({
    ...authed,
    ...withId,
    method: 'get',
    path: '/blog/likes/{id}',
    summary: 'The 5 earliest likers, earliest first',
    responses: { 200: okResponse(z.array(UserSchema), 'HmdpLikers', 'Likers'), ...errors },
  }),
  like: createRoute({
    ...authed,
    ...withId,
    method: 'put',
    path: '/blog/like/{id}',
    summary: 'Toggle my like of a blog',
    description:
      'Likes when not liked, unlikes when liked. Count, like rows and the Redis likers set change together (the domain’s setLike).',
    responses: {
      200: okResponse(
        z.object({ isLike: z.boolean(), liked: z.number().int() }).openapi('HmdpLikeState'),
        'HmdpLikeResult',
        'The new state'
      ),
      ...errors,
    },
  }),
  post: createRoute({
    ...authed,
    method: 'post',
    path: '/blog',
    summary: 'Publish a blog; `data` is its id',
    description:
      'Refusals: "标题不能为空", "内容不能为空", "请选择关联商户", "最多9张图片", "图片地址无效", "商户不存在". Followers get it through the queued fan-out.',
    request: {
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.object({
              title: z.string().max(1000).default(''),
              content: z.string().max(20_000).default(''),
              images: z
                .string()
                .max(10_000)
                .default('')
                .openapi({ example: '/imgs/blogs/1/2/a.jpg' }),
              shopId: z.union([z.string().max(32), z.number().int()]).optional(),
            }),
          },
        },
      },
    },
    responses: { 200: okResponse(Id, 'HmdpBlogId', 'Published'), ...errors },
  }),
  one: createRoute({
    ...authed,
    ...withId,
    method: 'get',
    path: '/blog/{id}',
    summary: 'One blog with its author and isLike',
    description: 'Refusal: "笔记不存在！" (BLOG_NOT_FOUND).',
    responses: { 200: okResponse(BlogSchema, 'HmdpBlogResult', 'The blog'), ...errors },
  }),
  isFollowing: createRoute({
    ...authed,
    ...withId,
    method: 'get',
    path: '/follow/or/not/{id}',
    summary: 'Whether I follow this user',
    responses: { 200: okResponse(z.boolean(), 'HmdpIsFollowing', 'The state'), ...errors },
  }),
  follow: createRoute({
    ...authed,
    method: 'put',
    path: '/follow/{id}/{isFollow}',
    summary: 'Follow (true) or unfollow (false) a user, idempotently',
    description: 'Refusals: "不能关注自己", "用户不存在！".',
    request: {
      params: z.object({
        id: Id.openapi({ param: { name: 'id', in: 'path' } }),
        isFollow: z.enum(['true', 'false']).openapi({ param: { name: 'isFollow', in: 'path' } }),
      }),
    },
    responses: { 200: okResponse(z.null(), 'HmdpFollowed', 'Done'), ...errors },
  }),
  common: createRoute({
    ...authed,
    ...withId,
    method: 'get',
    path: '/follow/common/{id}',
    summary: 'Users both I and this user follow',
    responses: { 200: okResponse(z.array(UserSchema), 'HmdpCommonFollows', 'Users'), ...errors },
  }),
}

export const hmdpBlogs = new OpenAPIHono<AppEnv>({ defaultHook: hmdpValidationHook })
  .openapi(routes.hot, async (c) => {
    const { current } = c.req.valid('query')
    const blogs = await hotBlogs(socialDeps(c.var.deps), current, BLOGS_PER_PAGE, viewer(c))
    return ok(c, blogs.map(blogJson))
  })
  .openapi(routes.ofMe, async (c) => {
    const { current } = c.req.valid('query')
    const blogs = await blogsOf(socialDeps(c.var.deps), me(c), current, BLOGS_PER_PAGE, me(c))
    return ok(c, blogs.map(blogJson))
  })
  .openapi(routes.ofUser, async (c) => {
    const { id, current } = c.req.valid('query')
    const blogs = await blogsOf(socialDeps(c.var.deps), id, current, BLOGS_PER_PAGE, me(c))
    return ok(c, blogs.map(blogJson))
  })
  .openapi(routes.feed, async (c) => {
    const { lastId, offset, size } = c.req.valid('query')
    const deps = socialDeps(c.var.deps)
    const max = lastId ?? null
    const entries = await deps.inbox.range(me(c), { max, offset, limit: size })
    const last = entries.at(-1)
    if (!last) return ok(c, null)
    // How many entries with the last score this page holds; if the whole page shares the score it
    // came in with, the ones seen on earlier pages count too (anchor §4 item 17, done right).
    let sameScore = 0
    for (let i = entries.length - 1; i >= 0 && entries[i]!.score === last.score; i--) sameScore++
    const nextOffset = last.score === max ? sameScore + offset : sameScore
    const blogs = await deps.blogs.findByIds(entries.map((e) => e.blogId))
    const list = await withLikedByMe(deps, blogs, me(c))
    return ok(c, { list: list.map(blogJson), minTime: last.score, offset: nextOffset })
  })
  .openapi(routes.likes, async (c) => {
    const likers = await earliestLikers(socialDeps(c.var.deps), c.req.valid('param').id)
    return ok(c, likers.map(userJson))
  })
  .openapi(routes.like, async (c) => {
    const deps = socialDeps(c.var.deps)
    const id = c.req.valid('param').id
    const [liked] = await deps.likeIndex.likedBy([id], me(c))
    const state = await setLike(deps, id, me(c), !liked)
    return ok(c, { isLike: state.liked, liked: state.likes })
  })
  .openapi(routes.post, async (c) => {
    const body = c.req.valid('json')
    const title = body.title.trim()
    const content = body.content.trim()
    const shopId = body.shopId === undefined ? '' : String(body.shopId)
    const images = body.images
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    const bad = (msg: string) => refuse(c, 200, msg, 'VALIDATION_FAILED')
    if (!title || title.length > 100) return bad('标题不能为空（最多100字）')
    if (!content || content.length > 5000) return bad('内容不能为空（最多5000字）')
    if (!isDecimalId(shopId)) return bad('请选择关联商户')
    if (images.length > 9) return bad('最多9张图片')
    if (images.some((i) => i.length > 512 || !IMAGE_REF.test(i))) return bad('图片地址无效')
    try {
      const blog = await createBlog(socialDeps(c.var.deps), me(c), {
        shopId,
        title,
        content,
        images,
      })
      return ok(c, blog.id)
    } catch (e) {
      if (e instanceof DomainError && e.details?.field === 'shopId') return bad('商户不存在')
      throw e
    }
  })
  .openapi(routes.one, async (c) => {
    const blog = await getBlog(socialDeps(c.var.deps), c.req.valid('param').id, me(c))
    return ok(c, blogJson(blog))
  })
  .openapi(routes.isFollowing, async (c) => {
    return ok(c, await isFollowing(socialDeps(c.var.deps), me(c), c.req.valid('param').id))
  })
  .openapi(routes.follow, async (c) => {
    const { id, isFollow } = c.req.valid('param')
    await setFollow(socialDeps(c.var.deps), me(c), id, isFollow === 'true')
    return ok(c, null)
  })
  .openapi(routes.common, async (c) => {
    const users = await commonFollows(socialDeps(c.var.deps), me(c), c.req.valid('param').id)
    return ok(c, users.map(userJson))
  })
