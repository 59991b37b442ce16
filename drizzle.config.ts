import type { Config } from 'drizzle-kit';

// drizzle-kit generates migrations from src/db/schema into src/db/migrations; the server applies them at start
// (src/db/migrate.ts). Generation needs no database; `drizzle-kit migrate` against a server uses DATABASE_URL.
const url = process.env.DATABASE_URL;
const config: Config = url?.startsWith('postgres')
  ? { dialect: 'postgresql', schema: './src/db/schema', out: './src/db/migrations', dbCredentials: { url } }
  : {
      dialect: 'postgresql',
      driver: 'pglite',
      schema: './src/db/schema',
      out: './src/db/migrations',
      dbCredentials: { url: './data/pglite' },
    };

export default config;
