import { createServer } from 'node:net'

/**
 * Below Linux's default ephemeral range (32768–60999): the kernel hands out neither outgoing
 * connections' local ports nor `listen(0)` ports from here, so a port found free here stays free
 * until a server of ours takes it — a port picked by `listen(0)` could meanwhile become the local
 * port of some outgoing connection (EADDRINUSE when the server starts, seen under load).
 */
const LOW = 20_000
const HIGH = 32_000
const handedOut = new Set<number>()

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A TCP port that was free a moment ago on 127.0.0.1 (for servers whose URL must be known up front). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW))
    if (handedOut.has(port)) continue
    if (await tryListen(port)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error(`no free port in ${LOW}–${HIGH - 1}`)
}
