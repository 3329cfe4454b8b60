/** `bytes` random bytes from the platform CSPRNG (crypto.getRandomValues), base64url without padding. */
export function randomToken(bytes = 16): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes))
  let bin = ''
  for (const b of buf) bin += String.fromCharCode(b)
  return btoa(bin).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** `n` uniformly random decimal digits from the platform CSPRNG (rejection sampling, no modulo bias). */
export function randomDigits(n: number): string {
  let out = ''
  while (out.length < n) {
    for (const b of crypto.getRandomValues(new Uint8Array(n))) {
      if (b < 250 && out.length < n) out += String(b % 10)
    }
  }
  return out
}
