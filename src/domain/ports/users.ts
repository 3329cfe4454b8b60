/** A registered user (phone-number login). */
export interface User {
  /** Decimal string of a positive 64-bit integer (a string because JSON numbers stop at 2^53). */
  id: string
  phone: string
  nickname: string
  /** Avatar URL or path; '' when unset. */
  icon: string
  /** Registration time, Unix epoch milliseconds. */
  createdAt: number
}

/** Users by id and by phone. Phones are unique: at most one user per phone, ever. */
export interface UserRepository {
  /**
   * The user with this id, or null when absent. An id not in canonical decimal form ('abc', '-1',
   * '007') names no user, so it is absent too (never an error).
   */
  findById(id: string): Promise<User | null>
  /** The user with this exact phone, or null when absent. */
  findByPhone(phone: string): Promise<User | null>
  /**
   * Returns the user with this phone, creating it with `nickname` (empty icon, createdAt = now) if
   * absent; `created` tells which. An existing user is returned unchanged (its nickname wins).
   * Race-safe: N concurrent calls for one phone create exactly one user, and all return it.
   */
  findOrCreateByPhone(phone: string, nickname: string): Promise<{ user: User; created: boolean }>
}
