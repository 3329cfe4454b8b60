import type { Clock } from '../../domain/ports/clock.ts'
import type { User, UserRepository } from '../../domain/ports/users.ts'

/** Users in Maps, ids from a counter starting at 1: same semantics as DrizzleUserRepository. */
export class MemoryUserRepository implements UserRepository {
  readonly #clock: Pick<Clock, 'now'>
  readonly #byId = new Map<string, User>()
  readonly #idByPhone = new Map<string, string>()
  #lastId = 0n

  constructor(clock: Pick<Clock, 'now'>) {
    this.#clock = clock
  }

  async findById(id: string): Promise<User | null> {
    const user = this.#byId.get(id)
    return user ? { ...user } : null
  }

  async findByPhone(phone: string): Promise<User | null> {
    const id = this.#idByPhone.get(phone)
    return id === undefined ? null : this.findById(id)
  }

  async findOrCreateByPhone(
    phone: string,
    nickname: string
  ): Promise<{ user: User; created: boolean }> {
    // Check and insert run in one synchronous stretch, so concurrent calls cannot interleave.
    const id = this.#idByPhone.get(phone)
    const existing = id === undefined ? undefined : this.#byId.get(id)
    if (existing) return { user: { ...existing }, created: false }
    this.#lastId += 1n
    const user: User = {
      id: this.#lastId.toString(),
      phone,
      nickname,
      icon: '',
      createdAt: this.#clock.now(),
    }
    this.#byId.set(user.id, user)
    this.#idByPhone.set(phone, user.id)
    return { user: { ...user }, created: true }
  }
}
