/** A minimal Server-Sent Events client for tests (fetch + a line parser), like EventSource. */
export interface SseEvent {
  event: string
  id: string | undefined
  data: string
}

export interface SseClient {
  response: Response
  events: SseEvent[]
  /** Comment lines (heartbeats) received. */
  comments: number
  /** Resolves once `n` events arrived in total, or the stream ended (check `events.length`). */
  until(n: number): Promise<SseEvent[]>
  /** Resolves when the server ends the stream (or it breaks). */
  ended: Promise<void>
  /** Resolves when at least `n` comment lines arrived, or the stream ended. */
  untilComments(n: number): Promise<void>
  close(): void
}

export async function openSse(
  url: string,
  headers: Record<string, string> = {},
  /** e.g. SELF.fetch inside workerd */
  fetcher: (url: string, init: RequestInit) => Promise<Response> = fetch
): Promise<SseClient> {
  const abort = new AbortController()
  const response = await fetcher(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  })
  const events: SseEvent[] = []
  let comments = 0
  let done = false
  const waiters = new Set<() => void>()
  const wake = () => {
    for (const w of [...waiters]) w()
  }
  const wait = (ok: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (ok() || done) {
          waiters.delete(check)
          resolve()
        }
      }
      waiters.add(check)
      check()
    })
  const ended = (async () => {
    if (!response.ok || !response.body) return
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    let current: Partial<SseEvent> & { data?: string } = {}
    try {
      for (;;) {
        const { value, done: end } = await reader.read()
        if (end) break
        buffer += value
        const lines = buffer.split('\n')
        buffer = lines.pop() ?? ''
        for (const line of lines) {
          if (line === '') {
            if (current.data !== undefined) {
              events.push({ event: current.event ?? 'message', id: current.id, data: current.data })
            }
            current = {}
          } else if (line.startsWith(':')) comments++
          else {
            const colon = line.indexOf(':')
            const field = line.slice(0, colon)
            const text = line.slice(colon + 1).replace(/^ /, '')
            if (field === 'data')
              current.data = current.data === undefined ? text : `${current.data}\n${text}`
            else if (field === 'event') current.event = text
            else if (field === 'id') current.id = text
          }
        }
        wake()
      }
    } catch {
      // closed by us, or broken
    } finally {
      done = true
      wake()
    }
  })()
  return {
    response,
    events,
    get comments() {
      return comments
    },
    until: async (n) => {
      await wait(() => events.length >= n)
      return events
    },
    untilComments: (n) => wait(() => comments >= n),
    ended,
    close: () => abort.abort(),
  }
}
