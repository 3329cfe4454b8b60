import { maskPhone } from '../../domain/auth/phone.ts'
import type { CodeSender } from '../../domain/ports/code-sender.ts'

type Log = (msg: string, fields: Record<string, unknown>) => void

/**
 * The development CodeSender: no SMS provider, the code goes to the log (and the API's `devCode`).
 * Production refuses to start with it (config: an SMS sender is required there).
 */
export class LogCodeSender implements CodeSender {
  readonly #log: Log

  constructor(log: Log) {
    this.#log = log
  }

  async send(phone: string, code: string): Promise<void> {
    this.#log('login code (development: no SMS provider)', { phone: maskPhone(phone), code })
  }
}
