/** Mainland China mobile numbers, as the original validated them (RegexUtils.PHONE_REGEX). */
const MAINLAND = /^1([38][0-9]|4[579]|5[0-35-9]|6[6]|7[0135678]|9[89])\d{8}$/
/** E.164: '+', country code, subscriber number; 8 to 15 digits in all. */
const E164 = /^\+[1-9]\d{7,14}$/

/**
 * The canonical (E.164) form of a phone number, or null when it is not one we accept: a mainland
 * China mobile number (with or without +86) or any E.164 number. Spaces and dashes are ignored.
 */
export function normalizePhone(input: string): string | null {
  const compact = input.replace(/[\s-]/g, '')
  const mainland = compact.replace(/^(\+86|0086)/, '')
  if (MAINLAND.test(mainland)) return `+86${mainland}`
  if (compact.startsWith('+86')) return null // +86 but not a valid mainland mobile
  return E164.test(compact) ? compact : null
}

/** A phone number safe to log: country code and last 2 digits only. */
export function maskPhone(phone: string): string {
  return `${phone.slice(0, 3)}${'*'.repeat(Math.max(0, phone.length - 5))}${phone.slice(-2)}`
}
