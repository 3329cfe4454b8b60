/**
 * Generates the demo images the seeded data points at (committed under public/imgs/, ~60 KB):
 * - public/imgs/types/<icon>.png: the ten shop-type icons (the pages show `/imgs/` + type.icon),
 *   48×48 PNGs: a coloured disc with a lighter ring;
 * - public/imgs/shops/<type>-<n>.svg (n = 1..12): shop cover pictures, an SVG card per type and
 *   variant (the seed's `images`);
 * - public/imgs/icons/default-icon.png: the avatar the pages show for users without an icon.
 * Deterministic: running it again rewrites the same bytes. `node scripts/gen-images.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { crc32, deflateSync } from 'node:zlib'

const OUT = new URL('../public/imgs/', import.meta.url).pathname

type Rgb = [number, number, number]

/** The seed's types: code, icon file, display name, colour. */
const TYPES: { code: string; icon: string; name: string; color: Rgb }[] = [
  { code: 'food', icon: 'ms', name: '美食', color: [255, 120, 60] },
  { code: 'ktv', icon: 'KTV', name: 'KTV', color: [150, 90, 230] },
  { code: 'hair', icon: 'lrmf', name: '丽人·美发', color: [240, 90, 150] },
  { code: 'fitness', icon: 'jsyd', name: '健身运动', color: [40, 180, 120] },
  { code: 'massage', icon: 'amzl', name: '按摩·足疗', color: [200, 140, 60] },
  { code: 'spa', icon: 'spa', name: '美容SPA', color: [230, 110, 190] },
  { code: 'kids', icon: 'qzyl', name: '亲子游乐', color: [60, 170, 230] },
  { code: 'bar', icon: 'jiuba', name: '酒吧', color: [110, 80, 200] },
  { code: 'party', icon: 'hpg', name: '轰趴馆', color: [250, 170, 40] },
  { code: 'nails', icon: 'mjmj', name: '美睫·美甲', color: [220, 80, 110] },
]

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'ascii')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0)
  return Buffer.concat([head, data, crc])
}

/** An RGBA PNG of `size`×`size` whose pixel colours come from `pixel(x, y)`. */
function png(size: number, pixel: (x: number, y: number) => [number, number, number, number]) {
  const rows = Buffer.alloc(size * (size * 4 + 1))
  for (let y = 0; y < size; y++) {
    const row = y * (size * 4 + 1)
    rows[row] = 0 // filter: none
    for (let x = 0; x < size; x++) rows.set(pixel(x, y), row + 1 + x * 4)
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr.set([8, 6, 0, 0, 0], 8) // 8-bit RGBA, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ])
}

/** A disc of `color` with a lighter ring, transparent outside (anti-aliased edge). */
function disc(color: Rgb, size = 48) {
  const c = (size - 1) / 2
  return png(size, (x, y) => {
    const d = Math.hypot(x - c, y - c)
    const alpha = Math.max(0, Math.min(1, c + 0.5 - d))
    const ring = d > c * 0.55 && d < c * 0.7
    const [r, g, b] = ring ? color.map((v) => Math.round(v + (255 - v) * 0.6)) : color
    return [r!, g!, b!, Math.round(alpha * 255)]
  })
}

function hex([r, g, b]: Rgb, k = 1): string {
  return `#${[r, g, b]
    .map((v) =>
      Math.round(v * k)
        .toString(16)
        .padStart(2, '0')
    )
    .join('')}`
}

/** A 320×240 cover card: gradient in the type's colour, a variant pattern and the type's name. */
function cover(t: (typeof TYPES)[number], n: number): string {
  const circles = Array.from({ length: 3 }, (_, i) => {
    const cx = (n * 53 + i * 97) % 320
    const cy = (n * 37 + i * 71) % 240
    return `<circle cx="${cx}" cy="${cy}" r="${30 + ((n + i) % 4) * 14}" fill="#fff" fill-opacity=".18"/>`
  }).join('')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240" viewBox="0 0 320 240"><title>${t.name} ${n}</title><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${hex(t.color)}"/><stop offset="1" stop-color="${hex(t.color, 0.6)}"/></linearGradient></defs><rect width="320" height="240" fill="url(#g)"/>${circles}<text x="160" y="130" font-family="sans-serif" font-size="30" fill="#fff" text-anchor="middle">${t.name} ${n}</text></svg>\n`
}

function write(path: string, data: string | Uint8Array) {
  const file = join(OUT, path)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, data)
}

for (const t of TYPES) {
  write(`types/${t.icon}.png`, disc(t.color))
  for (let n = 1; n <= 12; n++) write(`shops/${t.code}-${n}.svg`, cover(t, n))
}
write('icons/default-icon.png', disc([190, 190, 190]))
console.log(`images written under ${OUT}`)
