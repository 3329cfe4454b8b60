import { z } from '@hono/zod-openapi'
import type { Profile } from '../../../domain/ports/profiles.ts'
import type { Shop, ShopType } from '../../../domain/ports/shops.ts'
import type { Voucher } from '../../../domain/ports/vouchers.ts'
import type { BlogView } from '../../../domain/social/views.ts'
import { Id } from './envelope.ts'

/**
 * The original's JSON shapes (its DTOs and entities as Jackson wrote them), built from our domain
 * objects. Ids are decimal strings everywhere; times are ISO 8601 strings (the pages only pass
 * them to `new Date`).
 */

export const UserSchema = z
  .object({
    id: Id.openapi({ example: '42' }),
    nickName: z.string().openapi({ example: 'user_k3Jd9sQx' }),
    icon: z.string().openapi({ example: '' }),
  })
  .openapi('HmdpUser')

export const userJson = (u: Profile): z.infer<typeof UserSchema> => ({
  id: u.id,
  nickName: u.nickname,
  icon: u.icon,
})

export const UserInfoSchema = z
  .object({
    userId: Id,
    city: z.string().nullable(),
    introduce: z.string().nullable(),
    fans: z.number().int(),
    followee: z.number().int(),
    gender: z.boolean().nullable().openapi({ description: 'false = male, true = female' }),
    birthday: z.string().nullable(),
    credits: z.number().int(),
    level: z.number().int(),
  })
  .openapi('HmdpUserInfo')

export const ShopTypeSchema = z
  .object({
    id: Id.openapi({ example: '1' }),
    name: z.string().openapi({ example: '美食' }),
    icon: z.string().openapi({ example: '/types/ms.png', description: 'Shown as /imgs + icon' }),
    sort: z.number().int(),
  })
  .openapi('HmdpShopType')

export const shopTypeJson = (t: ShopType): z.infer<typeof ShopTypeSchema> => ({
  id: t.id,
  name: t.name,
  icon: t.icon,
  sort: t.sort,
})

export const ShopSchema = z
  .object({
    id: Id.openapi({ example: '1' }),
    name: z.string().openapi({ example: '103茶餐厅' }),
    typeId: Id.openapi({ example: '1' }),
    images: z
      .string()
      .openapi({ example: '/imgs/shops/food-1.svg', description: 'Comma-separated' }),
    area: z.string(),
    address: z.string(),
    x: z.number().openapi({ description: 'Longitude', example: 120.149192 }),
    y: z.number().openapi({ description: 'Latitude', example: 30.316078 }),
    avgPrice: z.number().int().openapi({ description: 'Whole yuan per person' }),
    sold: z.number().int(),
    comments: z.number().int(),
    score: z.number().int().openapi({ description: 'Rating × 10 (37 = 3.7)', example: 37 }),
    openHours: z.string(),
    distance: z
      .number()
      .optional()
      .openapi({ description: 'Metres from (x, y) of the query; only with x and y' }),
  })
  .openapi('HmdpShop')

export const shopJson = (s: Shop, distanceM?: number): z.infer<typeof ShopSchema> => ({
  id: s.id,
  name: s.name,
  typeId: s.typeId,
  images: s.images.join(','),
  area: s.area,
  address: s.address,
  x: s.lng,
  y: s.lat,
  avgPrice: s.avgPrice,
  sold: s.sold,
  comments: s.comments,
  score: Math.round(s.score * 10),
  openHours: s.openHours,
  ...(distanceM === undefined ? {} : { distance: distanceM }),
})

const iso = (ms: number) => new Date(ms).toISOString()

export const VoucherSchema = z
  .object({
    id: Id,
    shopId: Id,
    title: z.string(),
    subTitle: z.string(),
    rules: z.string(),
    payValue: z.number().int().openapi({ description: 'fen' }),
    actualValue: z.number().int().openapi({ description: 'fen' }),
    type: z.number().int().openapi({ description: '0 normal, 1 flash sale' }),
    status: z.number().int().openapi({ description: '1 on sale, 2 off' }),
    stock: z.number().int().nullable().openapi({ description: 'Flash sales: units left' }),
    beginTime: z.string().nullable().openapi({ format: 'date-time' }),
    endTime: z.string().nullable().openapi({ format: 'date-time' }),
  })
  .openapi('HmdpVoucher')

export const voucherJson = (v: Voucher): z.infer<typeof VoucherSchema> => ({
  id: v.id,
  shopId: v.shopId,
  title: v.title,
  subTitle: v.subTitle,
  rules: v.rules,
  payValue: v.payValue,
  actualValue: v.actualValue,
  type: v.kind === 'seckill' ? 1 : 0,
  status: v.status === 'on' ? 1 : 2,
  stock: v.seckill ? v.seckill.stock : null,
  beginTime: v.seckill ? iso(v.seckill.beginAt) : null,
  endTime: v.seckill ? iso(v.seckill.endAt) : null,
})

export const BlogSchema = z
  .object({
    id: Id,
    userId: Id,
    name: z.string().openapi({ description: "The author's nickname" }),
    icon: z.string().openapi({ description: "The author's icon" }),
    shopId: Id,
    title: z.string(),
    content: z.string(),
    images: z.string().openapi({ description: 'Comma-separated, first = cover' }),
    liked: z.number().int().openapi({ description: 'Number of likes' }),
    isLike: z.boolean().openapi({ description: 'Whether the caller likes it' }),
    comments: z.number().int().openapi({ description: 'Always 0: comments are not built yet' }),
    createTime: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('HmdpBlog')

export const blogJson = (b: BlogView): z.infer<typeof BlogSchema> => ({
  id: b.id,
  userId: b.author.id,
  name: b.author.nickname,
  icon: b.author.icon,
  shopId: b.shopId,
  title: b.title,
  content: b.content,
  images: b.images.join(','),
  liked: b.likes,
  isLike: b.likedByMe,
  comments: 0,
  createTime: iso(b.createdAt),
})
