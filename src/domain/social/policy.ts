/** Tunables of the social features (from the environment; see README "Configuration"). */
export interface SocialPolicy {
  /** The calendar of sign-ins and daily visitor counts (IANA zone name). */
  timeZone: string
  feed: {
    /** Entries kept per inbox; older ones are trimmed on every push. */
    inboxMax: number
    /** Followers read and pushed per round trip during fan-out. */
    fanoutBatch: number
    /** Batches one queue delivery handles before it hands the rest to a follow-up message. */
    fanoutBatchesPerMessage: number
  }
  /** Record unique visitors on GET requests. */
  uvTracking: boolean
}
