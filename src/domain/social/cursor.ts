import { isDecimalId } from '../ids.ts'
import type { FeedEntry } from '../ports/feed.ts'

/**
 * Where a feed page ended: the score of its last entry, how many entries with that score the
 * reader has seen so far (the original hmdp's `offset`), and the last entry's blog id (to notice
 * when the inbox changed under the cursor).
 */
export interface FeedCursor {
  score: number
  seen: number
  last: string
}

/** Opaque to clients: base64url of a small JSON object. */
export function encodeCursor(c: FeedCursor): string {
  const json = JSON.stringify({ v: 1, s: c.score, o: c.seen, m: c.last })
  return btoa(json).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** The cursor, or null when `text` is not one this code made. */
export function decodeCursor(text: string): FeedCursor | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return null
  let value: unknown
  try {
    value = JSON.parse(atob(text.replaceAll('-', '+').replaceAll('_', '/')))
  } catch {
    return null
  }
  if (typeof value !== 'object' || value === null) return null
  const { v, s, o, m } = value as Record<string, unknown>
  if (v !== 1 || typeof s !== 'number' || !Number.isFinite(s)) return null
  if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 1) return null
  if (!isDecimalId(m)) return null
  return { score: s, seen: o, last: m }
}

/**
 * The cursor after a page that ended with `page`'s last entry. `seenBefore` is how many entries
 * with the incoming cursor's score the reader had seen before this page (0 on the first page).
 *
 * This is the rule the original gets wrong (anchor §4 item 17): the entries of this page that
 * share its last score are counted, and when that score is the incoming cursor's score, the ones
 * seen on earlier pages are added (`seen = os + offset` when minTime == max, else `os`).
 */
export function nextCursor(
  page: readonly FeedEntry[],
  incoming: FeedCursor | null,
  seenBefore: number
): FeedCursor | null {
  const last = page.at(-1)
  if (!last) return null
  let sameScore = 0
  for (let i = page.length - 1; i >= 0 && page[i]!.score === last.score; i--) sameScore++
  const carried = incoming && incoming.score === last.score ? seenBefore : 0
  return { score: last.score, seen: sameScore + carried, last: last.blogId }
}

/** Feed order of two entries with the same score: blog id descending, bytewise (as Redis). */
export function comesAfter(a: string, b: string): boolean {
  return a < b
}
