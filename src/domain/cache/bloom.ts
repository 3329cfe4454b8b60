import type { CacheStore } from '../ports/cache.ts'

/** Size of a Bloom filter: `bits` (m) and the number of hash functions (k). */
export interface BloomShape {
  bits: number
  hashes: number
}

/** Redis bit offsets stop at 2^32 - 1; one bit past the filter is the readiness flag. */
const MAX_BITS = 2 ** 32 - 2

/**
 * The optimal shape for `expected` items at false-positive rate `fpRate`:
 * m = ⌈-n·ln p / (ln 2)²⌉ bits and k = round(m/n · ln 2) hashes (at least 1).
 * E.g. 100 000 items at 1 % → 958 506 bits (117 KiB) and 7 hashes.
 */
export function bloomShape(expected: number, fpRate: number): BloomShape {
  if (!Number.isInteger(expected) || expected < 1) {
    throw new RangeError(`expected item count must be a positive integer, got ${expected}`)
  }
  if (!(fpRate > 0 && fpRate < 1)) {
    throw new RangeError(`false-positive rate must be in (0, 1), got ${fpRate}`)
  }
  const bits = Math.ceil((-expected * Math.log(fpRate)) / Math.LN2 ** 2)
  if (bits > MAX_BITS) throw new RangeError(`a filter of ${bits} bits exceeds a Redis bitmap`)
  const hashes = Math.max(1, Math.round((bits / expected) * Math.LN2))
  return { bits, hashes }
}

/** 32-bit FNV-1a over the UTF-16 code units of `text`, from `seed`. */
function fnv1a(text: string, seed: number): number {
  let h = seed >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** MurmurHash3's 32-bit finaliser: spreads every input bit over the output. */
function fmix32(x: number): number {
  let h = x >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b) >>> 0
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35) >>> 0
  h ^= h >>> 16
  return h >>> 0
}

/**
 * The k bit positions of `item`: enhanced double hashing (Dillinger & Manolios),
 * g_i = h1 + i·h2 + (i³ - i)/6 mod m, from two independent 32-bit hashes. Deterministic, so every
 * instance (and every runtime) computes the same positions.
 */
export function bloomOffsets(item: string, shape: BloomShape): number[] {
  const h1 = fmix32(fnv1a(item, 0x811c9dc5))
  const h2 = (fmix32(fnv1a(item, 0x9747b28c)) | 1) >>> 0 // odd, unsigned
  const offsets: number[] = []
  for (let i = 0; i < shape.hashes; i++) {
    // Every term stays below 2^53, so the arithmetic is exact.
    offsets.push((h1 + i * h2 + (i * i * i - i) / 6) % shape.bits)
  }
  return offsets
}

/** 'absent': never added. 'maybe': added, or a false positive. 'unready': not built yet. */
export type BloomVerdict = 'absent' | 'maybe' | 'unready'

/**
 * A Bloom filter on a bitmap in the CacheStore. The bitmap's key carries the shape, so changing the
 * expected count or rate starts a new (unready) filter instead of misreading the old one. The bit
 * just past the filter (offset m) is a readiness flag, set once a full build has finished: a lost
 * or half-built bitmap reads 'unready', never 'absent', so it can't hide items that exist.
 */
export class BloomFilter {
  readonly key: string
  readonly shape: BloomShape
  readonly #store: CacheStore

  constructor(store: CacheStore, name: string, shape: BloomShape) {
    this.#store = store
    this.shape = shape
    this.key = `bloom:${name}:${shape.bits}:${shape.hashes}`
  }

  /** One round trip: the readiness flag and the item's k bits are read together. */
  async check(item: string): Promise<BloomVerdict> {
    const [ready, ...bits] = await this.#store.getBits(this.key, [
      this.shape.bits,
      ...bloomOffsets(item, this.shape),
    ])
    if (!ready) return 'unready'
    return bits.every(Boolean) ? 'maybe' : 'absent'
  }

  /** True once a full build has finished (markReady) and the bitmap was not lost since. */
  async isReady(): Promise<boolean> {
    const [ready] = await this.#store.getBits(this.key, [this.shape.bits])
    return ready === true
  }

  /** Adds the items (one round trip). Usable before the filter is ready. */
  async add(items: readonly string[]): Promise<void> {
    if (items.length === 0) return
    await this.#store.setBits(
      this.key,
      items.flatMap((item) => bloomOffsets(item, this.shape))
    )
  }

  /** Declares the filter complete: from now on 'absent' answers are trusted. */
  async markReady(): Promise<void> {
    await this.#store.setBits(this.key, [this.shape.bits])
  }
}
