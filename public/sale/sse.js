/**
 * Server-Sent Events over fetch (EventSource cannot send an Authorization header): parses
 * `event:`/`data:`/`id:` lines, reconnects with `Last-Event-ID` after `retry` ms when the stream
 * ends early, and gives up (so the caller polls instead) after `maxFailures` failed connects.
 */
export function streamEvents(
  url,
  { headers = {}, onEvent, isDone = () => false, onGiveUp, onOpen }
) {
  const abort = new AbortController()
  let lastId = ''
  let retry = 1000
  let failures = 0
  const maxFailures = 3

  async function connect() {
    while (!abort.signal.aborted) {
      let opened = false
      try {
        const h = { accept: 'text/event-stream', ...headers }
        if (lastId) h['last-event-id'] = lastId
        const res = await fetch(url, { headers: h, signal: abort.signal })
        if (!res.ok) {
          const problem = await res.json().catch(() => ({}))
          onGiveUp?.(problem, res.status)
          return
        }
        if (!res.body || typeof res.body.getReader !== 'function') throw new Error('no stream')
        opened = true
        failures = 0
        onOpen?.()
        await read(res.body)
        if (isDone()) return
      } catch (e) {
        if (abort.signal.aborted) return
        if (!opened && ++failures >= maxFailures) {
          onGiveUp?.({ detail: String(e) }, 0)
          return
        }
      }
      await new Promise((r) => setTimeout(r, retry))
    }
  }

  async function read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    let ev = { event: 'message', data: [], id: null }
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value
      const lines = buffer.split('\n')
      buffer = lines.pop()
      for (const raw of lines) {
        const line = raw.replace(/\r$/, '')
        if (line === '') {
          if (ev.id !== null) lastId = ev.id
          if (ev.data.length) onEvent(ev.event, JSON.parse(ev.data.join('\n')), ev.id)
          ev = { event: 'message', data: [], id: null }
          continue
        }
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        const text = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'data') ev.data.push(text)
        else if (field === 'event') ev.event = text
        else if (field === 'id') ev.id = text
        else if (field === 'retry' && /^\d+$/.test(text)) retry = Number(text)
      }
    }
  }

  connect()
  return { close: () => abort.abort() }
}
