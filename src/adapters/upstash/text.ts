/**
 * @upstash/redis JSON-parses every reply string it can ("123" → 123, "true" → true), keeping the
 * original text only when a number would lose digits. The social adapters store decimal ids and
 * read them back through this: a number or boolean turns back into exactly the text Redis holds.
 */
export function replyText(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || value === null)
    return String(value)
  return JSON.stringify(value)
}

/** Splits `items` into arrays of at most `size` (for commands with very many arguments). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
