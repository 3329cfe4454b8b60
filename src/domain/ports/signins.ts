/**
 * Daily sign-ins as one bitmap per user per month (Redis `SETBIT`/`BITFIELD`): 4 bytes a month.
 * Months are 'yyyyMM' strings of the app's calendar; days are 1..31. Every method is one round trip
 * (`months` pipelines all its months); when the store cannot be reached, methods reject with
 * `DependencyUnavailable('redis')`.
 */
export interface SignInCalendar {
  /** Marks `day` of `month` as signed; true when it was not marked before (false = already signed). */
  mark(userId: string, month: string, day: number): Promise<boolean>
  /**
   * For each of `months` (in order), the signed days as a bitmask: bit (d - 1) is set when day d is
   * signed (so day 1 is the least significant bit). A month without sign-ins is 0.
   */
  months(userId: string, months: readonly string[]): Promise<number[]>
}
