import { inArray } from 'drizzle-orm'
import type { Profile, ProfileDirectory } from '../../domain/ports/profiles.ts'
import type { Database } from './db.ts'
import { idKeys } from './ids.ts'
import { users } from './schema.ts'

/** Public profiles from the `users` table, one query per call. */
export class DrizzleProfileDirectory implements ProfileDirectory {
  readonly #db: Database

  constructor(db: Database) {
    this.#db = db
  }

  async profiles(ids: readonly string[]): Promise<Profile[]> {
    const keys = idKeys(ids)
    if (keys.length === 0) return []
    const rows = await this.#db
      .select({ id: users.id, nickname: users.nickname, icon: users.icon })
      .from(users)
      .where(inArray(users.id, keys))
    const byId = new Map(rows.map((r) => [r.id.toString(), r]))
    const out: Profile[] = []
    for (const id of new Set(ids)) {
      const row = byId.get(id)
      if (row) out.push({ id, nickname: row.nickname, icon: row.icon })
    }
    return out
  }
}
