/** What anyone may see of a user: the author of a blog, a liker, a common follow. */
export interface Profile {
  /** Decimal string of a positive 64-bit integer (see User.id). */
  id: string
  nickname: string
  /** Avatar URL or path; '' when unset. */
  icon: string
}

/** Public profiles by id, in bulk (one query). */
export interface ProfileDirectory {
  /**
   * The profiles of `ids`, in the order given; ids that name no user (absent, or not canonical
   * decimals) are left out, and a repeated id appears once, at its first position.
   */
  profiles(ids: readonly string[]): Promise<Profile[]>
}
