import { eq } from 'drizzle-orm'
import type { User, UserRepository } from '../../domain/ports/users.ts'
import type { Database } from './db.ts'
import { idKey } from './ids.ts'
import { type UserRow, users } from './schema.ts'

/** Users in Postgres (`users` table) through drizzle; works on every driver of `createDatabase`. */
export class DrizzleUserRepository implements UserRepository {
  readonly #db: Database

  constructor(db: Database) {
    this.#db = db
  }

  async findById(id: string): Promise<User | null> {
    const key = idKey(id)
    if (key === null) return null
    const [row] = await this.#db.select().from(users).where(eq(users.id, key)).limit(1)
    return row ? toUser(row) : null
  }

  async findByPhone(phone: string): Promise<User | null> {
    const [row] = await this.#db.select().from(users).where(eq(users.phone, phone)).limit(1)
    return row ? toUser(row) : null
  }

  async findOrCreateByPhone(
    phone: string,
    nickname: string
  ): Promise<{ user: User; created: boolean }> {
    // Read first so the common case (returning user) burns no identity value. On a lost race the
    // insert waits for the winner's commit and then does nothing; the re-read sees the winner.
    // Only a concurrent delete of that row can make a round miss, hence the bounded retry.
    for (let round = 0; round < 3; round++) {
      const existing = await this.findByPhone(phone)
      if (existing) return { user: existing, created: false }
      const [row] = await this.#db
        .insert(users)
        .values({ phone, nickname })
        .onConflictDoNothing({ target: users.phone })
        .returning()
      if (row) return { user: toUser(row), created: true }
    }
    throw new Error(`findOrCreateByPhone: user row for the phone kept vanishing`)
  }
}

function toUser(row: UserRow): User {
  return {
    id: row.id.toString(),
    phone: row.phone,
    nickname: row.nickname,
    icon: row.icon,
    createdAt: row.createdAt.getTime(),
  }
}
