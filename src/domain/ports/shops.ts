/** A category of shops (food, KTV, ...), shown in `sort` order. */
export interface ShopType {
  /** Decimal string of a positive 64-bit integer (see User.id). */
  id: string
  name: string
  /** Icon URL or path. */
  icon: string
  /** Display order: ascending. */
  sort: number
}

/** A shop as customers see it. */
export interface Shop {
  /** Decimal string of a positive 64-bit integer (see User.id). */
  id: string
  name: string
  typeId: string
  /** Image URLs or paths, first = cover. */
  images: string[]
  /** District or business area, e.g. '拱宸桥/上塘'. */
  area: string
  address: string
  /** Longitude in degrees (WGS 84). */
  lng: number
  /** Latitude in degrees (WGS 84), within ±85.05112878 (the GEO index's limit). */
  lat: number
  /** Average spend per person, in whole yuan. */
  avgPrice: number
  /** Vouchers/orders sold (maintained by the sales features). */
  sold: number
  /** Number of reviews (maintained by the reviews features). */
  comments: number
  /** Rating from 0 to 5 in steps of 0.1. */
  score: number
  /** Opening hours as shown, e.g. '10:00-22:00'. */
  openHours: string
  /** Last change, Unix epoch milliseconds. */
  updatedAt: number
}

/** The fields an administrator sets when creating or replacing a shop. */
export type ShopInput = Omit<Shop, 'id' | 'sold' | 'comments' | 'updatedAt'>

/**
 * Shops and shop types in the system of record. Ids that are not canonical decimals of a positive
 * int8 ('abc', '007', '-1') name nothing: lookups miss (null/empty) rather than throw. Pages are
 * `offset`/`limit` windows over a stable order (ascending id, types by `sort` then id).
 */
export interface ShopRepository {
  /** The shop with this id, or null when absent. */
  findById(id: string): Promise<Shop | null>
  /** Every shop type, ordered by `sort`, then id. */
  listTypes(): Promise<ShopType[]>
  /** Shops of one type by ascending id; empty for an unknown type. */
  listByType(typeId: string, offset: number, limit: number): Promise<Shop[]>
  /** Shops whose name contains `text` (case-insensitive; `%` and `_` are literal), by id. */
  searchByName(text: string, offset: number, limit: number): Promise<Shop[]>
  /** Up to `limit` shops with id greater than `afterId` (null = from the start), by ascending id. */
  scan(afterId: string | null, limit: number): Promise<Shop[]>
  /**
   * Reserves a fresh shop id that no shop has or will get from another call (ids may be skipped:
   * an unused reservation is simply never inserted).
   */
  reserveId(): Promise<string>
  /**
   * Inserts a shop under a reserved id (sold = comments = 0). Rejects with
   * DomainError('VALIDATION_FAILED') naming `typeId` when the type does not exist.
   */
  create(id: string, input: ShopInput): Promise<Shop>
  /**
   * Replaces the editable fields of shop `id` atomically and returns it before and after the
   * change, or null when it does not exist. Unknown `typeId`: as for create.
   */
  update(id: string, input: ShopInput): Promise<{ before: Shop; after: Shop } | null>
}
