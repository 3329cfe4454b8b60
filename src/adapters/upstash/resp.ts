/**
 * RESP ↔ Upstash translation: runs Upstash REST request bodies (one command, a `/pipeline`, a
 * `/multi-exec`) on a RESP connection and answers with Upstash's per-command `{ result }` /
 * `{ error }` shapes. ONE module for both places that do this, so error replies are identical on
 * both transports:
 * - the Upstash gateway stand-in (test/stack/upstash-gateway.ts): HTTP → here → Redis;
 * - the TCP transport (./tcp.ts): `@upstash/redis` → custom requester → here → Redis, no HTTP,
 *   no JSON, no base64.
 *
 * Semantics (Upstash's, see /work/shared/reference/edge-stack.md §1): a pipeline is sent pipelined
 * and in order, NOT atomic, with one result or error per command; a multi-exec is MULTI, the
 * commands and EXEC sent back to back on one connection (atomic), and a queue-time error discards
 * it and fails the whole request. Commands that would change the shared connection's state
 * (SELECT, WATCH, SUBSCRIBE, ...) are refused. `#!lua flags=allow-key-locking` (Upstash-only,
 * sent by @upstash/ratelimit) is stripped so stock Redis accepts the script (§0.3, §2.2).
 */
import { createHash } from 'node:crypto'
import { ErrorReply } from 'redis'

/** A reply as node-redis decodes RESP2 (strings, or Buffers with a Buffer type mapping). */
export type Reply = string | Buffer | number | null | ErrorReply | Reply[]
/** One command's outcome, in Upstash's JSON shape. */
export type Outcome = { result: unknown } | { error: string }

/** Where commands go. Rejections that are not `ErrorReply` mean the connection failed. */
export interface RespConnection {
  /** Sends one command (its first key routes it on a cluster). */
  send(args: string[]): Promise<Reply>
  /**
   * Runs MULTI, the commands and EXEC back to back on ONE connection, with nothing interleaved,
   * and resolves with EXEC's reply (a command's runtime error is an `ErrorReply` item). Rejects
   * with an `ErrorReply` when Redis refused the transaction — a queue-time error, EXECABORT, or a
   * cluster redirection/TRYAGAIN it could not follow: in every such case nothing ran — and with
   * anything else when the connection failed (the transaction may or may not have run). On a
   * cluster it goes to the node owning the first key's slot.
   */
  transaction(commands: string[][]): Promise<Reply>
}

/**
 * `RespConnection.transaction` on one connection: every command issued in the same tick, so
 * node-redis writes them as one batch and nothing interleaves. A connection failure wins over an
 * error reply; otherwise the first error reply (a queue-time error precedes EXEC's EXECABORT).
 */
export async function transactionOn(
  send: (args: string[]) => Promise<Reply>,
  commands: readonly string[][]
): Promise<Reply> {
  const settled = await Promise.allSettled([['MULTI'], ...commands, ['EXEC']].map(send))
  let refused: ErrorReply | undefined
  for (const s of settled) {
    if (s.status === 'fulfilled') continue
    if (!(s.reason instanceof ErrorReply)) throw s.reason
    refused ??= s.reason
  }
  if (refused) throw refused
  return (settled.at(-1) as PromiseFulfilledResult<Reply>).value
}

/** The whole request failed (Upstash answers HTTP 400 with `{ error }`). */
export class RequestError extends Error {
  override name = 'RequestError'
}

/** Redis could not be reached (Upstash answers 5xx). */
export class ConnectionError extends Error {
  override name = 'ConnectionError'
}

interface Prepared {
  /** What is sent to Redis. */
  args: string[]
  /** Sent instead when Redis answers NOSCRIPT (EVALSHA of a script we rewrote). */
  fallback?: string[]
  /** Replaces a successful reply (SCRIPT LOAD of a rewritten script answers the original sha). */
  result?: string
  /** Refused without reaching Redis. */
  refused?: string
}

const KEY_LOCKING = 'allow-key-locking'
// Commands that would alter or hijack the shared connection's state.
const REFUSED = new Set([
  ...['select', 'multi', 'exec', 'discard', 'watch', 'unwatch', 'monitor', 'quit', 'reset'],
  ...['hello', 'auth', 'sync', 'psync', 'subscribe', 'psubscribe', 'ssubscribe'],
  ...['unsubscribe', 'punsubscribe', 'sunsubscribe'],
])

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex')

/** The client sends numbers/booleans as JSON scalars and `undefined` array items as null. */
export function toArg(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || value === null)
    return String(value)
  return JSON.stringify(value)
}

/**
 * Removes `allow-key-locking` (Upstash-only) from a `#!lua flags=...` first line. If no flag is
 * left, the line becomes empty (keeping line numbers in error messages) and the script runs in
 * Redis's shebang-less compatibility mode, which is also what lets EVAL_RO accept it.
 */
export function stripKeyLocking(script: string): string {
  const eol = script.indexOf('\n')
  const line = eol === -1 ? script : script.slice(0, eol)
  if (!line.startsWith('#!lua') || !line.includes(KEY_LOCKING)) return script
  const words = line.trim().split(/\s+/)
  const at = words.findIndex((w) => w.startsWith('flags='))
  if (at === -1) return script
  const flags = words[at]!.slice('flags='.length).split(',')
  const kept = flags.filter((f) => f !== KEY_LOCKING)
  if (kept.length === flags.length) return script
  words[at] = `flags=${kept.join(',')}`
  const first = kept.some(Boolean) ? words.join(' ') : ''
  return first + (eol === -1 ? '' : script.slice(eol))
}

/**
 * Encodes a reply for Upstash's JSON: strings as base64 (every depth, "OK" too) or as text;
 * numbers/null as-is. A Lua table holding an error reply nests it in an array; JSON has no better
 * shape than its text.
 */
export function encodeReply(reply: Reply, base64: boolean): unknown {
  if (typeof reply === 'string') return base64 ? Buffer.from(reply).toString('base64') : reply
  if (Buffer.isBuffer(reply)) return reply.toString(base64 ? 'base64' : 'utf8')
  if (Array.isArray(reply)) return reply.map((r) => encodeReply(r, base64))
  if (reply instanceof ErrorReply) return encodeReply(reply.message, base64)
  return reply
}

/** node-redis rejects with ErrorReply for Redis errors; anything else means the connection failed. */
function asErrorReply(reason: unknown): ErrorReply {
  if (reason instanceof ErrorReply) return reason
  throw new ConnectionError(`Redis unavailable: ${(reason as Error)?.message ?? reason}`, {
    cause: reason,
  })
}

/**
 * Runs Upstash request bodies on a RESP connection. Keeps the map of rewritten scripts (so an
 * EVALSHA of the original script's sha finds the rewritten one); one per connection.
 */
export class RespTranslator {
  readonly #conn: RespConnection
  /** sha1(original script) → rewritten script and its sha1, for scripts we had to rewrite. */
  readonly #scripts = new Map<string, { text: string; sha: string }>()
  /** Commands sent to Redis (not counting MULTI/EXEC or NOSCRIPT retries). */
  commands = 0

  constructor(conn: RespConnection) {
    this.#conn = conn
  }

  #rewrite(script: string): string {
    const text = stripKeyLocking(script)
    if (text !== script) this.#scripts.set(sha1(script), { text, sha: sha1(text) })
    return text
  }

  #prepare(command: readonly unknown[], inMulti: boolean): Prepared {
    const args = command.map(toArg)
    const name = args[0]!.toLowerCase()
    if (REFUSED.has(name)) return { args, refused: `ERR command '${args[0]}' is not supported` }
    if ((name === 'eval' || name === 'eval_ro') && args.length > 1)
      args[1] = this.#rewrite(args[1]!)
    if ((name === 'evalsha' || name === 'evalsha_ro') && args.length > 1) {
      const known = this.#scripts.get(args[1]!.toLowerCase())
      if (known) {
        const evalName = name === 'evalsha' ? 'EVAL' : 'EVAL_RO'
        const fallback = [evalName, known.text, ...args.slice(2)]
        // Inside MULTI there is no retrying after EXEC, so send the script text outright.
        if (inMulti) return { args: fallback }
        return { args: [args[0]!, known.sha, ...args.slice(2)], fallback }
      }
    }
    if (name === 'script' && args.length > 2) {
      const sub = args[1]!.toLowerCase()
      if (sub === 'load') {
        const original = args[2]!
        args[2] = this.#rewrite(original)
        if (args[2] !== original) return { args, result: sha1(original) }
      } else if (sub === 'exists') {
        for (let i = 2; i < args.length; i++)
          args[i] = this.#scripts.get(args[i]!.toLowerCase())?.sha ?? args[i]!
      }
    }
    return { args }
  }

  /**
   * One command; a Redis error reply is thrown as `RequestError` (Upstash's HTTP 400).
   * Fast path of `pipeline([command])` for the TCP transport's hot path.
   */
  async command(command: readonly unknown[], base64 = false): Promise<unknown> {
    const c = this.#prepare(command, false)
    if (c.refused) throw new RequestError(c.refused)
    this.commands++
    const reply = await this.#conn.send(c.args).then(
      (r) => c.result ?? r,
      (e: unknown) => this.#failed(c, e)
    )
    if (reply instanceof ErrorReply) throw new RequestError(reply.message)
    return encodeReply(reply, base64)
  }

  /**
   * A command's error: Redis's reply, or (Redis lost a script we rewrote: SCRIPT FLUSH, restart)
   * the reply of running it by text. Connection failures throw `ConnectionError`.
   */
  #failed(c: Prepared, reason: unknown): Promise<Reply> | ErrorReply {
    const err = asErrorReply(reason)
    if (c.fallback && err.message.startsWith('NOSCRIPT')) {
      return this.#conn.send(c.fallback).catch(asErrorReply)
    }
    return err
  }

  /** Runs commands pipelined and in order (not atomic, like Upstash). */
  async pipeline(commands: readonly (readonly unknown[])[], base64 = false): Promise<Outcome[]> {
    const prepared = commands.map((c) => this.#prepare(c, false))
    const pending = prepared.map((c) => (c.refused ? null : this.#conn.send(c.args)))
    this.commands += prepared.filter((c) => !c.refused).length
    const settled = await Promise.allSettled(pending)
    const outcomes: Outcome[] = []
    for (const [i, s] of settled.entries()) {
      const c = prepared[i]!
      let reply: Reply
      if (c.refused) reply = new ErrorReply(c.refused)
      else if (s.status === 'fulfilled') reply = c.result ?? (s.value as Reply)
      // A NOSCRIPT fallback runs after the rest of the pipeline (only matters in that rare case).
      else reply = await this.#failed(c, s.reason)
      outcomes.push(
        reply instanceof ErrorReply
          ? { error: reply.message }
          : { result: encodeReply(reply, base64) }
      )
    }
    return outcomes
  }

  /**
   * MULTI, the commands and EXEC go back to back on one connection. A queue-time error makes Redis
   * discard the transaction (EXECABORT); the first queue-time error fails the whole request
   * (`RequestError`, Upstash's 400).
   */
  async multi(commands: readonly (readonly unknown[])[], base64 = false): Promise<Outcome[]> {
    const prepared = commands.map((c) => this.#prepare(c, true))
    const refused = prepared.find((c) => c.refused)
    if (refused) throw new RequestError(refused.refused!)
    this.commands += prepared.length
    const exec = await this.#conn.transaction(prepared.map((c) => c.args)).catch((e: unknown) => {
      throw new RequestError(asErrorReply(e).message)
    })
    if (!Array.isArray(exec)) throw new RequestError('ERR transaction aborted')
    return exec.map((r, i) =>
      r instanceof ErrorReply
        ? { error: r.message }
        : { result: encodeReply(prepared[i]!.result ?? r, base64) }
    )
  }
}
