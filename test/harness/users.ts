import type { TestApp } from './app.ts'

export interface TestUser {
  id: string
  token: string
}

let counter = 0

/**
 * Creates `n` users with live sessions straight through the app's own ports (setup, not the
 * feature under test; the login flow has its own tests). Phones are unique per process and run.
 */
export async function makeUsers(app: TestApp, n: number): Promise<TestUser[]> {
  const deps = await app.deps()
  const base = 17_000_000_000 + (process.pid % 1000) * 1_000_000 + (Date.now() % 1000) * 1000
  const phones = Array.from({ length: n }, () => `+86${base + counter++}`)
  const out: TestUser[] = []
  for (let i = 0; i < phones.length; i += 100) {
    const batch = await Promise.all(
      phones.slice(i, i + 100).map(async (phone) => {
        const { user } = await deps.users.findOrCreateByPhone(phone, 'buyer')
        const token = deps.ids.token()
        await deps.sessions.create(
          token,
          { id: user.id, nickname: user.nickname, icon: '' },
          30 * 86_400_000
        )
        return { id: user.id, token }
      })
    )
    out.push(...batch)
  }
  return out
}
