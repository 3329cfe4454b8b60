import { describe, expect, it } from 'vitest'
import { LogCodeSender } from '../src/adapters/system/code-sender.ts'
import { maskPhone, normalizePhone } from '../src/domain/auth/phone.ts'
import { codeSenderContract } from './contracts/code-sender.contract.ts'

describe('normalizePhone', () => {
  it.each([
    ['13812345678', '+8613812345678'],
    ['+86 138-1234-5678', '+8613812345678'],
    ['008615012345678', '+8615012345678'],
    ['19912345678', '+8619912345678'],
    ['+14155550123', '+14155550123'],
    ['+447911123456', '+447911123456'],
  ])('accepts %s as %s', (input, canonical) => {
    expect(normalizePhone(input)).toBe(canonical)
  })

  it.each([
    '12345678901', // not a mainland mobile prefix
    '1381234567', // too short
    '15412345678', // 154 is not allocated (the original's regex let "5," through)
    '1,012345678',
    '+8612345678901',
    '+0123456789',
    '4155550123', // no country code
    '',
  ])('rejects %s', (input) => {
    expect(normalizePhone(input)).toBeNull()
  })

  it('masks all but the country code and the last two digits', () => {
    expect(maskPhone('+8613812345678')).toBe('+86*********78')
  })
})

const lines: { msg: string; fields: Record<string, unknown> }[] = []
const record = (msg: string, fields: Record<string, unknown>) => void lines.push({ msg, fields })

codeSenderContract('log (development)', () => new LogCodeSender(record))

describe('LogCodeSender', () => {
  it('logs the code with a masked phone (development only: production needs a real sender)', async () => {
    lines.length = 0
    await new LogCodeSender(record).send('+8613812345678', '123456')
    expect(lines[0]?.fields).toEqual({ phone: '+86*********78', code: '123456' })
  })
})
