import type { Redis } from './client.ts'
import { type ScriptName, scripts } from './scripts.gen.ts'

export type { ScriptName }

/**
 * Runs a lua/ script by its precomputed SHA-1. EVALSHA is issued synchronously, so it joins the
 * client's current auto-pipeline batch (commands issued in the same tick share one HTTP request);
 * on NOSCRIPT it falls back to EVAL, which also loads the script. `readOnly` uses EVALSHA_RO /
 * EVAL_RO (the script must not write).
 */
export function evalLua<T>(
  redis: Redis,
  name: ScriptName,
  keys: string[],
  args: string[],
  options: { readOnly?: boolean } = {}
): Promise<T> {
  const { sha1, source } = scripts[name]
  const ro = options.readOnly === true
  const run = ro
    ? redis.evalshaRo<string[], T>(sha1, keys, args)
    : redis.evalsha<string[], T>(sha1, keys, args)
  return run.catch((e: unknown) => {
    if (!String(e).includes('NOSCRIPT')) throw e
    return ro
      ? redis.evalRo<string[], T>(source, keys, args)
      : redis.eval<string[], T>(source, keys, args)
  })
}
