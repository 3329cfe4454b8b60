import { maskPhone } from '../../domain/auth/phone.ts'
import type { CodeSender } from '../../domain/ports/code-sender.ts'

type Log = (msg: string, fields: Record<string, unknown>) => void

/**
 * The default CodeSender: no SMS provider, the code goes to the log — only outside production.
 * In production the code is never logged (it is a credential); a warning says none was delivered.
 */
export class LogCodeSender implements CodeSender {
  readonly #production: boolean
  readonly #log: Log
  readonly #warn: Log

  constructor(options: { production: boolean; log: Log; warn: Log }) {
    this.#production = options.production
    this.#log = options.log
    this.#warn = options.warn
  }

  async send(phone: string, code: string): Promise<void> {
    if (this.#production) {
      this.#warn('login code not delivered: no SMS provider configured', {
        phone: maskPhone(phone),
      })
      return
    }
    this.#log('login code (development: no SMS provider)', { phone: maskPhone(phone), code })
  }
}
