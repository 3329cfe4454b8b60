import { createServer, type IncomingMessage, STATUS_CODES } from 'node:http'
import { connect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { type WebSocket, WebSocketServer } from 'ws'

export interface NeonProxyFaultStats {
  /** Connection attempts answered 503 while refusing. */
  refused: number
  /** Open tunnels cut by cutAll() or cutAfter(). */
  cut: number
}

/** Fault injection on the proxy: Postgres "unreachable" for a while, connections cut mid-flight. */
export interface NeonProxyFaults {
  /**
   * Refuse new connections (the upgrade is answered 503, so the driver's connect fails) until
   * resume(), or for `forMs` on the proxy's clock (see NeonProxyOptions.clock). Open tunnels stay
   * up: call cutAll() too for a full outage.
   */
  refuse(opts?: { forMs?: number }): void
  /** Accept connections again. */
  resume(): void
  /** True while new connections are refused (a `forMs` refusal ends when the clock passes it). */
  readonly refusing: boolean
  /** Cuts every open tunnel now (both sides); returns how many. */
  cutAll(): number
  /**
   * Arms every tunnel open now: it forwards its next `messages` client messages (≥ 1; the driver
   * sends one message per query or per burst of protocol messages) to Postgres, then is cut
   * before any reply — e.g. armed inside a transaction, with 1 the next statement reaches Postgres
   * and its reply is lost. Returns how many tunnels were armed.
   */
  cutAfter(messages: number): number
  /** resume() and disarm every cutAfter(); the counters stay. */
  clear(): void
  stats(): NeonProxyFaultStats
  resetStats(): void
}

export interface NeonProxy {
  readonly host: string
  readonly port: number
  /** Value for the app's NEON_LOCAL_PROXY env var: '127.0.0.1:<port>'. */
  readonly address: string
  readonly faults: NeonProxyFaults
  /** Stops listening and cuts every open tunnel (both sides). */
  close(): Promise<void>
}

export interface NeonProxyOptions {
  /** Port to listen on (127.0.0.1); 0 or undefined = an ephemeral port. */
  port?: number
  /** Which `address=host:port` targets may be dialled. Default: loopback hosts only. */
  allowAddress?: RegExp
  /** The clock `faults.refuse({ forMs })` counts on (a test's ManualClock). Default: Date.now. */
  clock?: { now(): number }
}

interface Tunnel {
  ws: WebSocket
  tcp: Socket
  /** Client messages still to forward before the tunnel is cut (cutAfter). */
  cutIn?: number
}

const LOOPBACK = /^(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$/
/** Pause reading from Postgres while this many bytes wait to go out on the WebSocket. */
const HIGH_WATER = 1 << 20

/**
 * A local stand-in for Neon's WebSocket endpoint (like neondatabase/wsproxy): `GET /v2?address=
 * host:port` upgrades to a WebSocket tunnelled to that TCP address. Each TCP read becomes one binary
 * message, each message is written to TCP, and either side closing closes the other. Targets that
 * are malformed, not allowed or unreachable get an HTTP error instead of an upgrade.
 */
export async function startNeonProxy(opts: NeonProxyOptions = {}): Promise<NeonProxy> {
  const allow = opts.allowAddress ?? LOOPBACK
  const wss = new WebSocketServer({ noServer: true })
  const clock = opts.clock ?? Date
  const tunnels = new Set<Tunnel>()
  /** undefined: accepting; Infinity: refusing until resume(); else refusing until this time. */
  let refuseUntil: number | undefined
  let faultStats: NeonProxyFaultStats = { refused: 0, cut: 0 }
  const refusing = () => refuseUntil !== undefined && clock.now() < refuseUntil
  const cut = (tunnel: Tunnel) => {
    if (!tunnels.has(tunnel)) return // closed already
    faultStats.cut++
    tunnels.delete(tunnel)
    tunnel.ws.terminate()
    tunnel.tcp.destroy()
  }
  const pending = new Set<Duplex>()
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket upgrade required\n')
  })

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    const target = parseTarget(req.url, allow)
    if ('status' in target) return refuse(socket, target.status, target.reason)
    if (refusing()) {
      faultStats.refused++
      return refuse(socket, 503, 'injected fault: the database is unreachable')
    }
    const tcp = connect(target.port, target.host)
    pending.add(socket).add(tcp)
    const settle = () => {
      pending.delete(socket)
      pending.delete(tcp)
    }
    const dialFailed = (e: Error) => {
      settle()
      refuse(socket, 502, `cannot reach ${target.host}:${target.port}: ${e.message}`)
    }
    tcp.once('error', dialFailed)
    tcp.once('connect', () => {
      settle()
      tcp.off('error', dialFailed)
      tcp.on('error', () => tcp.destroy())
      let upgraded = false
      // ws answers a malformed handshake itself (400) and closes the socket: drop the dial then.
      socket.once('close', () => upgraded || tcp.destroy())
      if (socket.destroyed) return tcp.destroy()
      tcp.setNoDelay(true)
      wss.handleUpgrade(req, socket, head, (ws) => {
        upgraded = true
        const tunnel: Tunnel = { ws, tcp }
        tunnels.add(tunnel)
        pipe(tunnel, cut, () => tunnels.delete(tunnel))
      })
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('neon proxy: no TCP address')
  const host = '127.0.0.1'
  let closed: Promise<void> | undefined

  return {
    host,
    port: addr.port,
    address: `${host}:${addr.port}`,
    faults: {
      refuse: ({ forMs } = {}) => {
        refuseUntil = forMs === undefined ? Number.POSITIVE_INFINITY : clock.now() + forMs
      },
      resume: () => {
        refuseUntil = undefined
      },
      get refusing() {
        return refusing()
      },
      cutAll: () => {
        const open = [...tunnels]
        for (const tunnel of open) cut(tunnel)
        return open.length
      },
      cutAfter: (messages) => {
        if (!(Number.isInteger(messages) && messages >= 1)) {
          throw new RangeError(`cutAfter needs a whole number of messages ≥ 1: ${messages}`)
        }
        for (const tunnel of tunnels) if (tunnel.cutIn !== 0) tunnel.cutIn = messages
        return tunnels.size
      },
      clear: () => {
        refuseUntil = undefined
        for (const tunnel of tunnels) if (tunnel.cutIn !== 0) tunnel.cutIn = undefined
      },
      stats: () => ({ ...faultStats }),
      resetStats: () => {
        faultStats = { refused: 0, cut: 0 }
      },
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const stream of pending) stream.destroy()
        for (const { ws, tcp } of tunnels) {
          ws.terminate()
          tcp.destroy()
        }
        wss.close()
        server.closeAllConnections()
      })
      return closed
    },
  }
}

type Target = { host: string; port: number } | { status: number; reason: string }

function parseTarget(url: string | undefined, allow: RegExp): Target {
  const parsed = new URL(url ?? '/', 'http://proxy.invalid')
  if (parsed.pathname !== '/v2') return { status: 404, reason: 'only /v2 is served' }
  const address = parsed.searchParams.get('address')
  if (!address) return { status: 400, reason: 'missing ?address=host:port' }
  if (!allow.test(address)) return { status: 403, reason: `address not allowed: ${address}` }
  const colon = address.lastIndexOf(':')
  const port = Number(address.slice(colon + 1))
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    return { status: 400, reason: `address must be host:port: ${address}` }
  }
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port }
}

function refuse(socket: Duplex, status: number, reason: string): void {
  if (socket.destroyed) return
  const text = STATUS_CODES[status] ?? 'Error'
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`
  )
}

function pipe(tunnel: Tunnel, cut: (tunnel: Tunnel) => void, onClosed: () => void): void {
  const { ws, tcp } = tunnel
  let done = false
  const finish = () => {
    if (done) return
    done = true
    onClosed()
  }
  tcp.on('data', (chunk) => {
    ws.send(chunk, { binary: true }, () => {
      if (tcp.isPaused() && ws.bufferedAmount < HIGH_WATER) tcp.resume()
    })
    if (ws.bufferedAmount >= HIGH_WATER) tcp.pause()
  })
  // The server's binaryType is 'nodebuffer': every message arrives as one Buffer.
  ws.on('message', (data: Buffer) => {
    if (tunnel.cutIn === 0) return // being cut: nothing more reaches Postgres
    if (tunnel.cutIn !== undefined && --tunnel.cutIn === 0) {
      // Written to Postgres, then cut once it is flushed: the statement arrives, no reply returns.
      return void tcp.write(data, () => cut(tunnel))
    }
    if (!tcp.write(data)) ws.pause()
  })
  tcp.on('drain', () => ws.resume())
  tcp.on('error', () => ws.terminate())
  tcp.on('close', () => {
    if (ws.readyState === ws.OPEN) ws.close(1000)
    else ws.terminate()
    finish()
  })
  ws.on('error', () => tcp.destroy())
  ws.on('close', () => {
    tcp.destroySoon()
    finish()
  })
}
