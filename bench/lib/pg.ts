/**
 * A fresh PostgreSQL database per benchmark: created on the server of `--database-url` (default below) under a
 * unique name, dropped at the end (also when the benchmark fails).
 */
import postgres from 'postgres';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface FreshDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createFreshDatabase(baseUrl: string, tag: string): Promise<FreshDatabase> {
  const u = new URL(baseUrl);
  const name = `thingql_bench_${tag}_${process.pid}_${Date.now().toString(36)}`
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  // Connect to the maintenance database of the same server: the one in the URL may not exist yet.
  const admin = new URL(u);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { onnotice: () => {}, max: 1 });
  try {
    await sql.unsafe(`create database "${name}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
  const url = new URL(u);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      const s = postgres(admin.toString(), { onnotice: () => {}, max: 1 });
      try {
        await s.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await s.end({ timeout: 5 });
      }
    },
  };
}
