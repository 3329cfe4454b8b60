import { describe, expect, it } from 'vitest'
import type { CodeSender } from '../../src/domain/ports/code-sender.ts'

/** The CodeSender port's contract: sending resolves once accepted and never throws for a valid phone. */
export function codeSenderContract(name: string, make: () => CodeSender) {
  describe(`CodeSender contract [${name}]`, () => {
    it('accepts a code for an E.164 phone', async () => {
      await expect(make().send('+8613812345678', '042917')).resolves.toBeUndefined()
    })
  })
}
