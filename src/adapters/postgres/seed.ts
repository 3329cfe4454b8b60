import { sql } from 'drizzle-orm'
import type { Database } from './db.ts'
import { shops, shopTypes } from './schema.ts'

/**
 * The demo data set: the original hmdp's ten shop types and shops around its demo location in
 * Hangzhou's Gongshu district (the web client's default position, 120.149993, 30.334229), so
 * "nearby" has something to show. Fourteen shops are the original's well-known ones; the rest are
 * generated deterministically (a seeded PRNG), 20 per type in all, spread over ~7 km so that
 * some fall outside the 5 km "nearby" radius.
 */
export const DEMO_CENTER = { lng: 120.149993, lat: 30.334229 }

interface DemoType {
  code: string
  name: string
  icon: string
  sort: number
  brands: string[]
  price: [number, number]
  hours: string[]
}

const TYPES: DemoType[] = [
  {
    code: 'food',
    name: '美食',
    icon: '/types/ms.png',
    sort: 1,
    brands: ['外婆家', '绿茶餐厅', '新白鹿餐厅', '弄堂里', '知味观', '老娘舅', '西贝莜面村'],
    price: [45, 160],
    hours: ['10:00-22:00', '10:30-21:00', '11:00-14:00,17:00-21:30'],
  },
  {
    code: 'ktv',
    name: 'KTV',
    icon: '/types/KTV.png',
    sort: 2,
    brands: ['开乐迪KTV', '星聚会KTV', '唱吧麦颂KTV', '好乐迪KTV', '纯K'],
    price: [35, 120],
    hours: ['10:00-02:00', '12:00-06:00', '00:00-24:00'],
  },
  {
    code: 'hair',
    name: '丽人·美发',
    icon: '/types/lrmf.png',
    sort: 3,
    brands: ['永琪美容美发', '文峰美发', '审美造型', 'TONI&GUY', '小剪美学'],
    price: [40, 300],
    hours: ['10:00-22:00', '09:30-21:30'],
  },
  {
    code: 'fitness',
    name: '健身运动',
    icon: '/types/jsyd.png',
    sort: 10,
    brands: ['乐刻运动', '超级猩猩', '威尔士健身', '一兆韦德', '咕咚羽毛球馆'],
    price: [30, 200],
    hours: ['06:00-23:00', '00:00-24:00', '07:00-22:00'],
  },
  {
    code: 'massage',
    name: '按摩·足疗',
    icon: '/types/amzl.png',
    sort: 5,
    brands: ['华夏良子', '足道养生', '御足堂', '舒适堡养生馆', '君临足道'],
    price: [80, 260],
    hours: ['11:00-02:00', '12:00-01:00'],
  },
  {
    code: 'spa',
    name: '美容SPA',
    icon: '/types/spa.png',
    sort: 6,
    brands: ['克丽缇娜', '美丽田园', '思妍丽', '自然美', '伊美尔'],
    price: [150, 680],
    hours: ['10:00-21:00', '10:00-22:00'],
  },
  {
    code: 'kids',
    name: '亲子游乐',
    icon: '/types/qzyl.png',
    sort: 7,
    brands: ['奈尔宝家庭中心', '汤姆熊欢乐世界', '卡通尼乐园', '淘气堡', '运河儿童乐园'],
    price: [60, 220],
    hours: ['09:30-21:00', '10:00-21:30'],
  },
  {
    code: 'bar',
    name: '酒吧',
    icon: '/types/jiuba.png',
    sort: 8,
    brands: ['贰麻酒馆', '胡桃里音乐酒馆', 'Helens海伦司', '跳海酒馆', '醉忆小酒馆'],
    price: [60, 200],
    hours: ['19:00-03:00', '18:00-02:00', '20:00-04:00'],
  },
  {
    code: 'party',
    name: '轰趴馆',
    icon: '/types/hpg.png',
    sort: 9,
    brands: ['聚点轰趴馆', '有间轰趴', '乐享轰趴别墅', '嗨吧轰趴馆'],
    price: [80, 180],
    hours: ['10:00-次日08:00', '00:00-24:00'],
  },
  {
    code: 'nails',
    name: '美睫·美甲',
    icon: '/types/mjmj.png',
    sort: 4,
    brands: ['小甲美甲美睫', '繁花美甲', '指尖艺术', '甲时光', '美睫部落'],
    price: [60, 260],
    hours: ['10:00-21:00', '11:00-22:00'],
  },
]

interface DemoShop {
  type: string
  name: string
  area: string
  address: string
  lng: number
  lat: number
  avgPrice: number
  sold: number
  comments: number
  /** tenths */
  score: number
  openHours: string
}

/** Shops of the original demo data set (tb_shop), with their published coordinates. */
const CLASSICS: DemoShop[] = [
  [
    'food',
    '103茶餐厅',
    '大关',
    '金华路锦昌文华苑29号',
    120.149192,
    30.316078,
    80,
    4215,
    3035,
    37,
    '10:00-22:00',
  ],
  [
    'food',
    '蔡馬洪涛烤肉·老北京铜锅涮羊肉',
    '拱宸桥/上塘',
    '上塘路1035号（中国工商银行旁）',
    120.151505,
    30.333422,
    85,
    2160,
    1460,
    46,
    '11:30-03:00',
  ],
  [
    'food',
    '新白鹿餐厅(运河上街店)',
    '运河上街',
    '台州路2号运河上街购物中心F5',
    120.151954,
    30.32497,
    61,
    12035,
    8045,
    39,
    '10:30-21:00',
  ],
  [
    'food',
    'Mamala(杭州远洋乐堤港店)',
    '拱宸桥/上塘',
    '丽水路66号远洋乐堤港商城2期1层B115号',
    120.146659,
    30.312742,
    290,
    13519,
    9529,
    46,
    '11:00-22:00',
  ],
  [
    'food',
    '海底捞火锅(水晶城购物中心店)',
    '大关',
    '上塘路458号水晶城购物中心F6',
    120.15778,
    30.310633,
    104,
    4125,
    2764,
    45,
    '10:00-07:00',
  ],
  [
    'food',
    '幸福里老北京涮锅（丝联店）',
    '拱宸桥/上塘',
    '金华南路189号丝联166号',
    120.148603,
    30.318618,
    130,
    9531,
    7324,
    46,
    '11:00-13:50,17:00-20:50',
  ],
  [
    'food',
    '炉鱼(拱墅万达广场店)',
    '北部新城',
    '杭行路666号万达商业中心4幢2单元409室(铺位号4005)',
    120.124691,
    30.339963,
    72,
    8920,
    6234,
    47,
    '00:00-24:00',
  ],
  [
    'food',
    '浅草屋寿司（运河上街店）',
    '运河上街',
    '拱墅区金华路80号运河上街B1',
    120.150526,
    30.325231,
    98,
    18654,
    13742,
    49,
    '10:00-21:00',
  ],
  [
    'food',
    '羊老三羊蝎子牛仔排北派炭火锅(运河上街店)',
    '运河上街',
    '台州路2号运河上街购物中心F5',
    120.150598,
    30.325251,
    101,
    4234,
    3242,
    46,
    '11:00-21:30',
  ],
  [
    'ktv',
    '开乐迪KTV（运河上街店）',
    '运河上街',
    '台州路2号运河上街购物中心F4',
    120.149065,
    30.325083,
    67,
    26891,
    902,
    48,
    '00:00-24:00',
  ],
  [
    'ktv',
    'INLOVE KTV(水晶城店)',
    '大关',
    '上塘路458号水晶城购物中心10层',
    120.15853,
    30.310002,
    35,
    2839,
    3249,
    35,
    '11:30-06:00',
  ],
  [
    'ktv',
    '魅(杭州远洋乐堤港店)',
    '远洋乐堤港',
    '丽水路58号远洋乐堤港F4',
    120.14566,
    30.31347,
    88,
    1328,
    1022,
    45,
    '19:00-03:00',
  ],
  [
    'ktv',
    '讴K拉量贩KTV(北城天地店)',
    '北部新城',
    '拱墅区北城天地购物中心F4',
    120.13097,
    30.346373,
    58,
    6401,
    2035,
    44,
    '11:00-02:00',
  ],
  [
    'ktv',
    '星聚会KTV(拱墅区万达店)',
    '北部新城',
    '杭行路666号万达广场C座1-2F',
    120.128958,
    30.337252,
    60,
    7513,
    3542,
    47,
    '10:00-22:00',
  ],
].map(([type, name, area, address, lng, lat, avgPrice, sold, comments, score, openHours]) => ({
  type,
  name,
  area,
  address,
  lng,
  lat,
  avgPrice,
  sold,
  comments,
  score,
  openHours,
})) as DemoShop[]

const AREAS: { name: string; streets: string[] }[] = [
  { name: '大关', streets: ['上塘路', '大关路', '香积寺路', '金华路'] },
  { name: '拱宸桥/上塘', streets: ['丽水路', '上塘路', '桥西直街', '小河路'] },
  { name: '运河上街', streets: ['台州路', '金华路', '湖州街'] },
  { name: '北部新城', streets: ['杭行路', '莫干山路', '祥园路', '丰潭路'] },
  { name: '远洋乐堤港', streets: ['丽水路', '湖墅北路'] },
  { name: '和睦/新村', streets: ['和睦路', '登云路', '长浜路'] },
  { name: '半山', streets: ['半山路', '石祥路', '永华街'] },
]

const SHOPS_PER_TYPE = 20

/** mulberry32: a tiny deterministic PRNG, so every seeded database holds the same shops. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The full demo shop list (classics first), deterministic. */
export function demoShops(): DemoShop[] {
  const random = prng(20_260_101)
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!
  const out = [...CLASSICS]
  for (const type of TYPES) {
    const have = out.filter((s) => s.type === type.code).length
    for (let i = have; i < SHOPS_PER_TYPE; i++) {
      const area = pick(AREAS)
      // Uniform in a disc of ~7 km around the demo centre (1° lat ≈ 111 km; lng scaled by cos).
      const r = 7_000 * Math.sqrt(random())
      const theta = 2 * Math.PI * random()
      const lat = DEMO_CENTER.lat + (r * Math.sin(theta)) / 111_320
      const lng =
        DEMO_CENTER.lng +
        (r * Math.cos(theta)) / (111_320 * Math.cos((DEMO_CENTER.lat * Math.PI) / 180))
      const sold = Math.floor(200 + random() * 20_000)
      out.push({
        type: type.code,
        name: `${pick(type.brands)}(${area.name.split('/')[0]}${i + 1}店)`,
        area: area.name,
        address: `${pick(area.streets)}${Math.floor(1 + random() * 900)}号`,
        lng: Math.round(lng * 1e6) / 1e6,
        lat: Math.round(lat * 1e6) / 1e6,
        avgPrice: Math.round(type.price[0] + random() * (type.price[1] - type.price[0])),
        sold,
        comments: Math.floor(sold * (0.2 + random() * 0.6)),
        score: Math.round(30 + random() * 20),
        openHours: pick(type.hours),
      })
    }
  }
  return out
}

export interface SeedResult {
  /** false when the database already had shop types (nothing was written). */
  seeded: boolean
  types: number
  shops: number
}

/**
 * Loads the demo data set into an empty database, in one transaction; a database that already has
 * shop types is left alone, so running it again (or concurrently: the table lock serialises the
 * check) is harmless.
 */
export async function seedDemoShops(db: Database): Promise<SeedResult> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`lock table shop_types in share row exclusive mode`)
    const { rows } = await tx.execute<{ n: number }>(
      sql`select (select count(*) from shop_types)::int as n`
    )
    if (rows[0]!.n > 0) return { seeded: false, types: 0, shops: 0 }
    const inserted = await tx
      .insert(shopTypes)
      .values(TYPES.map(({ name, icon, sort }) => ({ name, icon, sort })))
      .returning({ id: shopTypes.id, name: shopTypes.name })
    const typeId = new Map(
      inserted.map((row) => [TYPES.find((t) => t.name === row.name)!.code, row.id])
    )
    const list = demoShops()
    for (let i = 0; i < list.length; i += 100) {
      await tx.insert(shops).values(
        list.slice(i, i + 100).map((s, j) => ({
          typeId: typeId.get(s.type)!,
          name: s.name,
          // Real files under public/imgs/shops (scripts/gen-images.ts): a cover and two more.
          images: [0, 1, 2].map((k) => `/imgs/shops/${s.type}-${((i + j + k) % 12) + 1}.svg`),
          area: s.area,
          address: s.address,
          lng: s.lng,
          lat: s.lat,
          avgPrice: s.avgPrice,
          sold: s.sold,
          comments: s.comments,
          score: s.score,
          openHours: s.openHours,
        }))
      )
    }
    return { seeded: true, types: inserted.length, shops: list.length }
  })
}
