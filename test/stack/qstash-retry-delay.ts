/**
 * Safe evaluator for QStash `Upstash-Retry-Delay` expressions (result in milliseconds), e.g.
 * `1000 * (1 + retried)` or `max(1000, pow(2, retried) * 100)`. A tiny recursive-descent parser:
 * numbers, the variable `retried`, + - * / %, unary minus, parentheses and the functions
 * pow/sqrt/abs/exp/floor/ceil/round/min/max. No eval, no `new Function`.
 */

type Node = (retried: number) => number

const FUNCTIONS: Record<string, { arity: [number, number]; fn: (...a: number[]) => number }> = {
  pow: { arity: [2, 2], fn: (a = 0, b = 0) => a ** b },
  sqrt: { arity: [1, 1], fn: (a = 0) => Math.sqrt(a) },
  abs: { arity: [1, 1], fn: (a = 0) => Math.abs(a) },
  exp: { arity: [1, 1], fn: (a = 0) => Math.exp(a) },
  floor: { arity: [1, 1], fn: (a = 0) => Math.floor(a) },
  ceil: { arity: [1, 1], fn: (a = 0) => Math.ceil(a) },
  round: { arity: [1, 1], fn: (a = 0) => Math.round(a) },
  min: { arity: [1, 64], fn: (...a) => Math.min(...a) },
  max: { arity: [1, 64], fn: (...a) => Math.max(...a) },
}

const TOKEN = /\s*(?:(\d+(?:\.\d*)?|\.\d+)|([A-Za-z_]\w*)|(.))/y

function tokenize(src: string): string[] {
  const tokens: string[] = []
  TOKEN.lastIndex = 0
  while (TOKEN.lastIndex < src.length) {
    const m = TOKEN.exec(src)
    if (!m) break
    const tok = m[1] ?? m[2] ?? m[3]
    if (tok === undefined) break // only trailing whitespace left
    tokens.push(tok)
  }
  return tokens
}

/** Parses `src`; throws an Error with a readable message when it is not a valid expression. */
export function compileRetryDelay(src: string): (retried: number) => number {
  if (src.length > 1000) throw new Error('retry delay expression too long')
  const tokens = tokenize(src)
  let pos = 0
  const peek = (): string | undefined => tokens[pos]
  const expect = (tok: string): void => {
    if (tokens[pos] !== tok) throw new Error(`expected '${tok}' at token ${pos + 1}`)
    pos++
  }

  const binary = (next: () => Node, ops: Record<string, (a: number, b: number) => number>) => {
    return (): Node => {
      let left = next()
      for (let op = peek(); op !== undefined && op in ops; op = peek()) {
        pos++
        const apply = ops[op]!
        const l = left
        const r = next()
        left = (x) => apply(l(x), r(x))
      }
      return left
    }
  }

  const primary = (): Node => {
    const tok = peek()
    if (tok === undefined) throw new Error('unexpected end of expression')
    pos++
    if (/^[\d.]/.test(tok)) {
      const value = Number(tok)
      return () => value
    }
    if (tok === '(') {
      const inner = expression()
      expect(')')
      return inner
    }
    if (tok === 'retried') return (x) => x
    const spec = Object.hasOwn(FUNCTIONS, tok) ? FUNCTIONS[tok] : undefined
    if (!spec) throw new Error(`unknown identifier or symbol '${tok}'`)
    expect('(')
    const args: Node[] = [expression()]
    while (peek() === ',') {
      pos++
      args.push(expression())
    }
    expect(')')
    const [lo, hi] = spec.arity
    if (args.length < lo || args.length > hi) throw new Error(`wrong number of arguments to ${tok}`)
    return (x) => spec.fn(...args.map((a) => a(x)))
  }

  const unary = (): Node => {
    const tok = peek()
    if (tok === '-' || tok === '+') {
      pos++
      const inner = unary()
      return tok === '-' ? (x) => -inner(x) : inner
    }
    return primary()
  }

  const term = binary(unary, {
    '*': (a, b) => a * b,
    '/': (a, b) => a / b,
    '%': (a, b) => a % b,
  })
  const expression = binary(term, { '+': (a, b) => a + b, '-': (a, b) => a - b })

  if (tokens.length === 0) throw new Error('empty retry delay expression')
  const root = expression()
  if (pos !== tokens.length) throw new Error(`unexpected '${tokens[pos]}' at token ${pos + 1}`)
  return root
}
