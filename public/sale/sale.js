import { streamEvents } from './sse.js'

const $ = (id) => document.getElementById(id)
const params = new URLSearchParams(location.search)
const shopId = params.get('shop') ?? '1'
const TOKEN_KEY = 'edge-seckill.token'
const POLL_MS = 2000

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  voucher: null,
  stock: null,
  soldOut: false,
  orderStream: null,
}

const yuan = (fen) => `¥${(fen / 100).toFixed(2)}`

async function api(path, { method = 'GET', body, token = state.token, headers = {} } = {}) {
  const h = { ...headers }
  if (token) h.authorization = `Bearer ${token}`
  if (body !== undefined) h['content-type'] = 'application/json'
  const res = await fetch(path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const data = res.status === 204 ? null : await res.json().catch(() => null)
  return { status: res.status, ok: res.ok, data }
}

/* ---------- the sale ---------- */

async function loadVoucher() {
  const res = await api(`/shops/${encodeURIComponent(shopId)}/vouchers`, { token: null })
  const list = res.ok ? res.data : []
  const wanted = params.get('voucher')
  const sales = list.filter((v) => v.kind === 'seckill' && v.seckill)
  return (
    sales.find((v) => v.id === wanted) ??
    sales.find((v) => Date.parse(v.seckill.endAt) > Date.now()) ??
    sales[0] ??
    null
  )
}

function renderVoucher(v) {
  $('title').textContent = v.title
  $('subtitle').textContent = v.subTitle
  $('shop').textContent = `Shop #${v.shopId} · flash sale`
  $('pay').textContent = yuan(v.payValue)
  $('worth').textContent = yuan(v.actualValue)
  $('stock-bar').max = Math.max(1, v.seckill.initialStock)
  document.title = `${v.title} · flash sale`
}

function renderStock(stock, soldOut) {
  state.stock = stock
  state.soldOut = soldOut
  $('stock').textContent = soldOut ? 'Sold out' : `${stock} left`
  $('stock-bar').value = stock
  document.querySelector('.stock').classList.toggle('soldout', soldOut)
  renderBuyButton()
}

function phase(now = Date.now()) {
  const s = state.voucher?.seckill
  if (!s) return 'none'
  if (now < Date.parse(s.beginAt)) return 'soon'
  if (now >= Date.parse(s.endAt)) return 'ended'
  return 'open'
}

function tickCountdown() {
  const s = state.voucher?.seckill
  if (!s) return
  const p = phase()
  const target = p === 'soon' ? Date.parse(s.beginAt) : Date.parse(s.endAt)
  $('clock-label').textContent =
    p === 'soon' ? 'Starts in' : p === 'open' ? 'Ends in' : 'Sale ended'
  const left = Math.max(0, Math.floor((target - Date.now()) / 1000))
  const hh = String(Math.floor(left / 3600)).padStart(2, '0')
  const mm = String(Math.floor((left % 3600) / 60)).padStart(2, '0')
  const ss = String(left % 60).padStart(2, '0')
  $('countdown').textContent = p === 'ended' ? '—' : `${hh}:${mm}:${ss}`
  renderBuyButton()
}

function renderBuyButton() {
  const b = $('buy')
  const p = phase()
  b.disabled = !state.token || p !== 'open' || state.soldOut
  b.textContent = state.soldOut
    ? 'Sold out'
    : !state.token
      ? 'Log in to buy'
      : p === 'soon'
        ? 'Not started'
        : p === 'ended'
          ? 'Ended'
          : 'Buy now'
}

function watchStock(v) {
  streamEvents(`/vouchers/${v.id}/events`, {
    onOpen: () => ($('stock-mode').textContent = 'live'),
    onEvent: (event, data) => {
      if (event === 'stock') renderStock(data.stock, data.soldOut)
    },
    // Cannot stream (old browser, proxy buffering, broker down): poll the voucher list.
    onGiveUp: () => pollStock(v),
  })
}

function pollStock(v) {
  $('stock-mode').textContent = `updated every ${POLL_MS / 1000} s`
  const poll = async () => {
    const res = await api(`/shops/${v.shopId}/vouchers`, { token: null }).catch(() => null)
    const fresh = res?.ok && res.data.find((x) => x.id === v.id)
    if (fresh) renderStock(fresh.seckill.stock, fresh.seckill.stock <= 0)
  }
  poll()
  setInterval(poll, POLL_MS)
}

const REFUSALS = {
  SOLD_OUT: 'Sold out — better luck next time.',
  ALREADY_PURCHASED: 'You already hold one from this sale.',
  SALE_NOT_STARTED: 'The sale has not started yet.',
  SALE_ENDED: 'The sale has ended.',
  RATE_LIMITED: 'Too many tries — wait a moment.',
  UNAUTHORIZED: 'Please log in again.',
}

async function buy() {
  const b = $('buy')
  b.disabled = true
  $('buy-result').textContent = 'Grabbing…'
  const key = crypto.randomUUID().replaceAll('-', '')
  const res = await api(`/vouchers/${state.voucher.id}/seckill`, {
    method: 'POST',
    headers: { 'idempotency-key': key },
  })
  if (res.status === 202) {
    $('buy-result').textContent = 'Got it! Your order is being placed.'
    watchOrder(res.data.orderId)
  } else {
    $('buy-result').textContent =
      REFUSALS[res.data?.code] ?? res.data?.detail ?? res.data?.title ?? 'Something went wrong.'
    if (res.data?.code === 'SOLD_OUT') renderStock(0, true)
  }
  renderBuyButton()
}

/* ---------- the order ---------- */

const STATUS_TEXT = {
  pending: 'Placing your order…',
  unpaid: 'Reserved for you — pay to complete.',
  paid: 'Paid. Enjoy!',
  cancelled: 'Cancelled. The voucher went back on sale.',
  failed: 'We could not place this order; nothing was charged.',
}

function renderOrder(order) {
  $('order').hidden = false
  $('order-id').textContent = order.id
  $('order-status').textContent = STATUS_TEXT[order.status] ?? order.status
  const final = ['paid', 'cancelled', 'failed'].includes(order.status)
  const rank = { pending: 0, unpaid: 1 }[order.status] ?? 2
  for (const [i, li] of [...document.querySelectorAll('.steps li')].entries()) {
    li.className =
      i < rank
        ? 'done'
        : i === rank
          ? order.status === 'failed' || order.status === 'cancelled'
            ? 'failed current'
            : final
              ? 'done current'
              : 'current'
          : ''
    if (li.dataset.step === 'final')
      li.textContent = final ? order.status[0].toUpperCase() + order.status.slice(1) : 'Done'
    li.setAttribute('aria-current', i === rank ? 'step' : 'false')
  }
  $('order-actions').hidden = order.status !== 'unpaid'
  return final
}

function watchOrder(orderId) {
  state.orderStream?.close()
  let final = false
  renderOrder({ id: orderId, status: 'pending' })
  $('order-mode').textContent = 'live'
  state.orderStream = streamEvents(`/orders/${orderId}/events`, {
    headers: { authorization: `Bearer ${state.token}` },
    isDone: () => final,
    onEvent: (event, order) => {
      if (event === 'status') final = renderOrder(order)
    },
    onGiveUp: (_problem, status) => {
      if (status === 401 || status === 404) return
      pollOrder(orderId)
    },
  })
}

function pollOrder(orderId) {
  $('order-mode').textContent = `updated every ${POLL_MS / 1000} s`
  const timer = setInterval(async () => {
    const res = await api(`/orders/${orderId}`).catch(() => null)
    if (res?.ok && renderOrder(res.data)) clearInterval(timer)
  }, POLL_MS)
}

async function orderAction(kind) {
  const id = $('order-id').textContent
  const res = await api(`/orders/${id}/${kind}`, { method: 'POST' })
  if (res.ok) renderOrder(res.data)
  else
    $('order-status').textContent =
      res.data?.code === 'ORDER_PENDING'
        ? 'Still being placed — try again in a moment.'
        : (res.data?.detail ?? 'That did not work.')
}

/* ---------- login ---------- */

function renderWho(nickname) {
  $('who').textContent = state.token
    ? `Logged in${nickname ? ` as ${nickname}` : ''}`
    : 'Not logged in'
  $('login').hidden = Boolean(state.token)
  renderBuyButton()
}

async function sendCode(e) {
  e.preventDefault()
  $('login-error').textContent = ''
  const res = await api('/auth/code', {
    method: 'POST',
    body: { phone: $('phone').value.trim() },
    token: null,
  })
  if (!res.ok) {
    $('login-error').textContent =
      res.data?.errors?.[0]?.message ?? res.data?.detail ?? 'Could not send a code.'
    return
  }
  const dev = $('dev-code')
  dev.hidden = !res.data.devCode
  if (res.data.devCode) {
    dev.textContent = `Development mode: your code is ${res.data.devCode}`
    $('code').value = res.data.devCode
  }
  $('code').focus()
}

async function logIn(e) {
  e.preventDefault()
  $('login-error').textContent = ''
  const res = await api('/auth/login', {
    method: 'POST',
    body: { phone: $('phone').value.trim(), code: $('code').value.trim() },
    token: null,
  })
  if (!res.ok) {
    $('login-error').textContent = res.data?.detail ?? 'Wrong code.'
    return
  }
  state.token = res.data.token
  sessionStorage.setItem(TOKEN_KEY, state.token)
  renderWho(res.data.user.nickname)
}

/* ---------- admin ---------- */

const COUNTERS = [
  ['accepted', 'Accepted'],
  ['persisted', 'Persisted'],
  ['pending', 'Pending'],
  ['unpaid', 'Unpaid'],
  ['paid', 'Paid'],
  ['cancelled', 'Cancelled'],
  ['failed', 'Failed'],
  ['deadLetters', 'Dead letters'],
  ['stock', 'Stock (Redis)'],
  ['drift', 'Drift'],
]
const history = []

function renderCounters(c) {
  const drift = Math.abs(c.drift.ledgerStock) + Math.abs(c.drift.databaseStock) + c.drift.buyersOff
  const values = { ...c, drift }
  $('counters').replaceChildren(
    ...COUNTERS.map(([key, label]) => {
      const div = document.createElement('div')
      if ((key === 'drift' || key === 'deadLetters' || key === 'failed') && values[key] > 0)
        div.className = 'alert'
      const dt = document.createElement('dt')
      dt.textContent = label
      const dd = document.createElement('dd')
      dd.textContent = values[key] ?? '–'
      dd.dataset.counter = key
      div.append(dt, dd)
      return div
    })
  )
  history.push(c)
  if (history.length > 60) history.shift()
  drawChart()
}

function drawChart() {
  const svg = $('chart')
  const max = Math.max(1, ...history.map((h) => h.accepted))
  const x = (i) => (history.length < 2 ? 0 : (i / (history.length - 1)) * 296 + 2)
  const y = (v) => 116 - (v / max) * 110
  const line = (key) => {
    const p = document.createElementNS('http://www.w3.org/2000/svg', 'polyline')
    p.setAttribute(
      'points',
      history.map((h, i) => `${x(i).toFixed(1)},${y(h[key]).toFixed(1)}`).join(' ')
    )
    p.setAttribute('class', key)
    p.setAttribute('stroke', 'currentColor')
    return p
  }
  svg.replaceChildren(
    svg.querySelector('title'),
    line('accepted'),
    line('persisted'),
    line('pending')
  )
}

let adminTimer = null
function watchCounters(e) {
  e.preventDefault()
  clearInterval(adminTimer)
  const token = $('admin-token').value
  const poll = async () => {
    if (!state.voucher) return
    const res = await api(`/admin/seckill/${state.voucher.id}/counters`, { token }).catch(
      () => null
    )
    if (res?.ok) {
      $('admin-error').textContent = ''
      renderCounters(res.data)
    } else {
      $('admin-error').textContent =
        res?.data?.detail ?? res?.data?.title ?? 'Could not read the counters.'
      if (res?.status === 401 || res?.status === 403) clearInterval(adminTimer)
    }
  }
  poll()
  adminTimer = setInterval(poll, POLL_MS)
}

/* ---------- start ---------- */

$('code-form').addEventListener('submit', sendCode)
$('login-form').addEventListener('submit', logIn)
$('buy').addEventListener('click', buy)
$('pay-btn').addEventListener('click', () => orderAction('pay'))
$('cancel-btn').addEventListener('click', () => orderAction('cancel'))
$('admin-form').addEventListener('submit', watchCounters)
renderWho()

const voucher = await loadVoucher()
if (!voucher) {
  $('title').textContent = 'No flash sale here right now'
  $('stock-mode').textContent = ''
} else {
  state.voucher = voucher
  renderVoucher(voucher)
  renderStock(voucher.seckill.stock, voucher.seckill.stock <= 0)
  tickCountdown()
  setInterval(tickCountdown, 1000)
  watchStock(voucher)
}
