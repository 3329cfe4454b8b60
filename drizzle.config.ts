import { defineConfig } from 'drizzle-kit'

/** drizzle-kit (generate / migrate / studio). `migrate` talks TCP through `pg` to DATABASE_URL. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/adapters/postgres/schema.ts',
  out: './src/adapters/postgres/migrations',
  dbCredentials: {
    url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  },
})
