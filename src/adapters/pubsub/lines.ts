/**
 * Reads a text stream line by line (`\n`, a trailing `\r` dropped) until it ends; gives up (returns)
 * on a line longer than 1 MiB. Rejects when the stream breaks or is cancelled mid-read.
 */
export async function readLines(
  reader: ReadableStreamDefaultReader<string>,
  line: (text: string) => void
): Promise<void> {
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    const lines = buffer.split('\n')
    buffer = lines.pop() ?? ''
    if (buffer.length > 1 << 20) return // a line over 1 MiB: not ours; give up
    for (const l of lines) line(l.replace(/\r$/, ''))
  }
}
