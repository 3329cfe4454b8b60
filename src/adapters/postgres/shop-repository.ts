import { asc, eq, gt, ilike, sql } from 'drizzle-orm'
import { DomainError } from '../../domain/errors.ts'
import type { Shop, ShopInput, ShopRepository, ShopType } from '../../domain/ports/shops.ts'
import type { Database } from './db.ts'
import { idKey } from './ids.ts'
import { type ShopRow, type ShopTypeRow, shops, shopTypes } from './schema.ts'

/** Shops and shop types in Postgres through drizzle; works on every driver of `createDatabase`. */
export class DrizzleShopRepository implements ShopRepository {
  readonly #db: Database

  constructor(db: Database) {
    this.#db = db
  }

  async findById(id: string): Promise<Shop | null> {
    const key = idKey(id)
    if (key === null) return null
    const [row] = await this.#db.select().from(shops).where(eq(shops.id, key)).limit(1)
    return row ? toShop(row) : null
  }

  async listTypes(): Promise<ShopType[]> {
    const rows = await this.#db
      .select()
      .from(shopTypes)
      .orderBy(asc(shopTypes.sort), asc(shopTypes.id))
    return rows.map(toShopType)
  }

  async listByType(typeId: string, offset: number, limit: number): Promise<Shop[]> {
    const key = idKey(typeId)
    if (key === null) return []
    const rows = await this.#db
      .select()
      .from(shops)
      .where(eq(shops.typeId, key))
      .orderBy(asc(shops.id))
      .offset(offset)
      .limit(limit)
    return rows.map(toShop)
  }

  async searchByName(text: string, offset: number, limit: number): Promise<Shop[]> {
    const pattern = `%${text.replace(/[\\%_]/g, '\\$&')}%`
    const rows = await this.#db
      .select()
      .from(shops)
      .where(ilike(shops.name, pattern))
      .orderBy(asc(shops.id))
      .offset(offset)
      .limit(limit)
    return rows.map(toShop)
  }

  async scan(afterId: string | null, limit: number): Promise<Shop[]> {
    const after = afterId === null ? 0n : idKey(afterId)
    if (after === null) return []
    const rows = await this.#db
      .select()
      .from(shops)
      .where(gt(shops.id, after))
      .orderBy(asc(shops.id))
      .limit(limit)
    return rows.map(toShop)
  }

  async reserveId(): Promise<string> {
    const { rows } = await this.#db.execute<{ id: string }>(
      sql`select nextval(pg_get_serial_sequence('shops', 'id'))::text as id`
    )
    return rows[0]!.id
  }

  async create(id: string, input: ShopInput): Promise<Shop> {
    const key = idKey(id)
    if (key === null) throw new RangeError(`not a shop id: ${id}`)
    const typeKey = requireTypeKey(input.typeId)
    try {
      const [row] = await this.#db
        .insert(shops)
        .values({ id: key, ...toRow(input), typeId: typeKey })
        .returning()
      return toShop(row!)
    } catch (e) {
      throw unknownTypeOr(e, input.typeId)
    }
  }

  async update(id: string, input: ShopInput): Promise<{ before: Shop; after: Shop } | null> {
    const key = idKey(id)
    if (key === null) return null
    const typeKey = requireTypeKey(input.typeId)
    try {
      return await this.#db.transaction(async (tx) => {
        const [old] = await tx.select().from(shops).where(eq(shops.id, key)).for('update')
        if (!old) return null
        const [row] = await tx
          .update(shops)
          .set({ ...toRow(input), typeId: typeKey, updatedAt: sql`now()` })
          .where(eq(shops.id, key))
          .returning()
        return { before: toShop(old), after: toShop(row!) }
      })
    } catch (e) {
      throw unknownTypeOr(e, input.typeId)
    }
  }
}

function requireTypeKey(typeId: string): bigint {
  const key = idKey(typeId)
  if (key === null) throw unknownType(typeId)
  return key
}

function unknownType(typeId: string): DomainError {
  return new DomainError('VALIDATION_FAILED', 'No such shop type', { field: 'typeId', typeId })
}

/** A foreign-key violation on type_id means the type does not exist; anything else propagates. */
function unknownTypeOr(e: unknown, typeId: string): unknown {
  for (let err: unknown = e; err; err = (err as { cause?: unknown }).cause) {
    if ((err as { code?: unknown }).code === '23503') return unknownType(typeId)
  }
  return e
}

function toRow(input: ShopInput) {
  return {
    name: input.name,
    images: input.images,
    area: input.area,
    address: input.address,
    lng: input.lng,
    lat: input.lat,
    avgPrice: input.avgPrice,
    score: Math.round(input.score * 10),
    openHours: input.openHours,
  }
}

function toShop(row: ShopRow): Shop {
  return {
    id: row.id.toString(),
    name: row.name,
    typeId: row.typeId.toString(),
    images: [...row.images],
    area: row.area,
    address: row.address,
    lng: row.lng,
    lat: row.lat,
    avgPrice: row.avgPrice,
    sold: row.sold,
    comments: row.comments,
    score: row.score / 10,
    openHours: row.openHours,
    updatedAt: row.updatedAt.getTime(),
  }
}

function toShopType(row: ShopTypeRow): ShopType {
  return { id: row.id.toString(), name: row.name, icon: row.icon, sort: row.sort }
}
