/**
 * Unique visitors per day. The Redis adapter keeps a HyperLogLog per day (at most 12 KB whatever the
 * traffic; standard error 0.81 %), so counts are estimates; the in-memory adapter counts exactly.
 * Days are 'yyyyMMdd' strings of the app's calendar. Every method is one round trip; when the store
 * cannot be reached, methods reject with `DependencyUnavailable('redis')`.
 */
export interface VisitorCounter {
  /** Adds visitor ids (user ids, client IPs, …) to `day`'s count; repeats are not counted twice. */
  record(day: string, visitors: readonly string[]): Promise<void>
  /**
   * The (estimated) unique visitors of each of `days`, in order, and of all of them together (the
   * union: someone who visited on several days counts once). Days without visits count 0.
   */
  count(days: readonly string[]): Promise<{ perDay: number[]; union: number }>
}
