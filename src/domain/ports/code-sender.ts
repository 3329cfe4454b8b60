/** Delivers a login code to a phone (SMS gateway in production). */
export interface CodeSender {
  /** Resolves once the provider accepted the message; rejects when it could not be sent. */
  send(phone: string, code: string): Promise<void>
}
