/**
 * Shared pieces of the stand-ins' fault injection: when a fault fires (the next N matches, a seeded
 * random fraction of them, or every match until removed) and a reproducible PRNG.
 */

/** When a matching event is faulted. With neither field: every match, until removed or cleared. */
export interface FaultSchedule {
  /** Fault at most this many matches, then the rule expires (with `fraction`: at most N faults). */
  times?: number
  /** Fault each match with this probability (0..1), drawn from a PRNG seeded with `seed`. */
  fraction?: number
  /** Seed of the rule's PRNG (default 1): the same seed and traffic give the same faults. */
  seed?: number
}

/** A fault rule once added: how often it fired, and a way to remove it alone. */
export interface FaultHandle {
  /** Matches this rule faulted so far. */
  readonly hits: number
  /** True once `times` faults have fired (the rule no longer fires) or it was removed. */
  readonly done: boolean
  remove(): void
}

/** mulberry32: a tiny, fast, seedable 32-bit PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function checkSchedule(s: FaultSchedule): void {
  if (s.times !== undefined && !(Number.isInteger(s.times) && s.times >= 0)) {
    throw new RangeError(`fault times must be a non-negative integer: ${s.times}`)
  }
  if (s.fraction !== undefined && !(s.fraction >= 0 && s.fraction <= 1)) {
    throw new RangeError(`fault fraction must be within 0..1: ${s.fraction}`)
  }
}

/**
 * An ordered list of fault rules. `fire(event)` asks the rules in the order they were added; the
 * first one whose `matches(event)` is true and whose schedule fires (counting the hit) wins.
 */
export class FaultRules<R extends FaultSchedule, E> {
  readonly #rules = new Set<{ rule: R; handle: FaultHandle; fire: () => boolean }>()
  readonly #matches: (rule: R, event: E) => boolean

  constructor(matches: (rule: R, event: E) => boolean) {
    this.#matches = matches
  }

  add(rule: R): FaultHandle {
    checkSchedule(rule)
    const random = rule.fraction === undefined ? undefined : seededRandom(rule.seed ?? 1)
    let hits = 0
    let removed = false
    const rules = this.#rules
    const handle: FaultHandle = {
      get hits() {
        return hits
      },
      get done() {
        return removed || (rule.times !== undefined && hits >= rule.times)
      },
      remove() {
        removed = true
        rules.delete(entry)
      },
    }
    const entry = {
      rule,
      handle,
      fire: () => {
        if (handle.done) return false
        if (random && random() >= rule.fraction!) return false
        hits++
        return true
      },
    }
    rules.add(entry)
    return handle
  }

  /** True when no rule is active (callers can skip building the event). */
  get empty(): boolean {
    return this.#rules.size === 0
  }

  /** The rule that faults this event, if any (its hit is counted). */
  fire(event: E): R | undefined {
    for (const entry of this.#rules) {
      if (entry.handle.done) continue
      if (this.#matches(entry.rule, event) && entry.fire()) return entry.rule
    }
    return undefined
  }

  clear(): void {
    for (const entry of [...this.#rules]) entry.handle.remove()
  }
}

/** A URL/text filter: a substring or a regular expression. */
export type TextPattern = string | RegExp

export function matchesText(pattern: TextPattern | undefined, text: string): boolean {
  if (pattern === undefined) return true
  if (typeof pattern === 'string') return text.includes(pattern)
  pattern.lastIndex = 0 // a /g or /y pattern keeps state between test() calls
  return pattern.test(text)
}
