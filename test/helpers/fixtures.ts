/**
 * Vitest fixtures for the setup chain db -> services -> platform (broker, HTTP) -> product -> device, so a suite asks
 * for what it needs by name instead of repeating it in beforeAll (architecture.md habit 12):
 *
 *   import { describeEachDb, test } from '../helpers/fixtures.ts';
 *   describeEachDb(test, 'devices on %s', () => {
 *     test('registers a device', async ({ services, product }) => { ... });
 *   });
 *
 * The expensive ends (a database, the composed services, a started platform) are built once per file and database
 * kind, on first use, and closed when the file ends: the same sharing a beforeAll gives, without the boilerplate.
 * Per-test fixtures (`product`, `device`) are new for every test, so tests do not see each other's rows.
 * `dbKind` is 'pglite' unless a describe block overrides it (describeEachDb does, for every database).
 */
import { randomBytes } from 'node:crypto';
import { describe, test as base } from 'vitest';
import { lampTsl } from './tsl-fixtures.ts';
import { startTestPlatform, type DbKind, type TestPlatform } from './platform.ts';
import { dbAvailable, DB_KINDS } from './services-env.ts';
import { ADMIN, composeServices, type MemoryDevice, type TestServices } from './services.ts';
import { openTestDatabase, type TestDatabase } from './test-db.ts';

/** One instance per database kind, made on first use, closed at the end of the file (closers run last-made first). */
function perKind<T>(make: (kind: DbKind) => Promise<T>, close: (v: T) => Promise<void>) {
  const made = new Map<DbKind, Promise<T>>();
  return {
    get: (kind: DbKind): Promise<T> => {
      let p = made.get(kind);
      if (!p) made.set(kind, (p = make(kind)));
      return p;
    },
    async closeAll(): Promise<void> {
      for (const p of [...made.values()].reverse()) await close(await p).catch(() => undefined);
      made.clear();
    },
  };
}

export interface ProductFixture {
  productKey: string;
  id: number;
}

export interface DeviceFixture {
  productKey: string;
  deviceName: string;
  deviceSecret: string;
  iotId: string;
  id: number;
}

export const test = base
  .extend('dbKind', 'pglite' as DbKind)
  .extend(
    'databases',
    { scope: 'file' }, // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this destructuring; none here.
    async ({}, { onCleanup }) => {
      const dbs = perKind(openTestDatabase, (d) => d.close());
      onCleanup(() => dbs.closeAll());
      return dbs;
    },
  )
  .extend('composed', { scope: 'file' }, async ({ databases }, { onCleanup }) => {
    const all = perKind(
      async (kind) => composeServices(await databases.get(kind)),
      (s) => s.close(),
    );
    onCleanup(() => all.closeAll());
    return all;
  })
  .extend(
    'platforms',
    { scope: 'file' }, // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this destructuring; none here.
    async ({}, { onCleanup }) => {
      const all = perKind(
        (kind) => startTestPlatform(kind),
        (t) => t.close(),
      );
      onCleanup(() => all.closeAll());
      return all;
    },
  )
  /** A migrated database of this file and kind (PGlite from the template, or a fresh PostgreSQL database). */
  .extend('db', async ({ dbKind, databases }): Promise<TestDatabase> => databases.get(dbKind))
  /** The services composed on `db`, no sockets (test/helpers/services.ts). */
  .extend('services', async ({ dbKind, composed }): Promise<TestServices> => composed.get(dbKind))
  /** A started platform (broker, HTTP, GraphQL) on its own database of this kind: the existing platform helper. */
  .extend('platform', async ({ dbKind, platforms }): Promise<TestPlatform> => platforms.get(dbKind))
  /** A new product with the smart-lamp thing model, created through the product service. */
  .extend('product', async ({ services }): Promise<ProductFixture> => {
    const p = await services.services.products.create(ADMIN, {
      name: `Lamp ${randomBytes(3).toString('hex')}`,
      tsl: lampTsl,
    });
    return { productKey: p.productKey, id: p.id };
  })
  /** A device registered in `product`. */
  .extend('device', async ({ services, product }): Promise<DeviceFixture> => {
    const r = await services.services.devices.register(ADMIN, { productKey: product.productKey });
    return {
      productKey: product.productKey,
      deviceName: r.device.deviceName,
      deviceSecret: r.deviceSecret,
      iotId: r.device.iotId,
      id: r.device.id,
    };
  })
  /** `device`, logged in through device auth, publishing through the ingest pipeline. */
  .extend('online', async ({ services, device }): Promise<MemoryDevice> => services.device(device));

export type FixtureTest = typeof test;

export type Warm = 'db' | 'services' | 'platform';

/**
 * Run `body` once per database (test/helpers/services-env.ts DB_KINDS), with `dbKind` overridden for the fixtures
 * of `t`; the PostgreSQL block is reported skipped without TEST_DATABASE_URL. `title` may hold `%s`.
 * `warm` builds the named shared fixtures in a beforeAll: their setup (seconds on a loaded machine: PGlite compiles
 * its WebAssembly, a platform binds its ports) then runs in a beforeAll (up to 180 s), not inside the first test's
 * testTimeout. `timeout` sets the tests' own (a hang guard, nothing is timed).
 */
export function describeEachDb(
  t: FixtureTest,
  title: string,
  body: (kind: DbKind) => void,
  opts: { warm?: Warm[]; timeout?: number } = {},
): void {
  for (const kind of DB_KINDS) {
    describe.skipIf(!dbAvailable(kind))(
      title.replace('%s', kind),
      opts.timeout ? { timeout: opts.timeout } : {},
      () => {
        t.override('dbKind', kind);
        const warm = opts.warm ?? [];
        if (warm.length > 0) {
          t.beforeAll(async ({ databases, composed, platforms }) => {
            if (warm.includes('db')) await databases.get(kind);
            if (warm.includes('services')) await composed.get(kind);
            if (warm.includes('platform')) await platforms.get(kind);
          }, 180_000);
        }
        body(kind);
      },
    );
  }
}
