import { randomBytes } from 'node:crypto';
import { productWithDevices, type DeviceCreds } from './devices.ts';
import { afterAll, beforeAll } from 'vitest';
import type { Config } from '../../src/config.ts';
import { freshPostgresDatabase, startTestPlatform, type DbKind, type TestPlatform } from './platform.ts';

/**
 * Starts a test platform in the suite's beforeAll and closes it in its afterAll (registered first, so it closes
 * last), returning a handle that reads through to it: `const t = usePlatform('pglite')` then `t.gql(...)` in tests.
 * Reading the handle before beforeAll has run throws, so a misplaced use fails loudly instead of seeing undefined.
 */
export function usePlatform(
  kind: DbKind = 'pglite',
  overrides: Partial<Record<keyof Config, unknown>> = {},
  options: Parameters<typeof startTestPlatform>[2] = {},
): TestPlatform {
  let started: TestPlatform | undefined;
  const handle = {} as TestPlatform;
  beforeAll(async () => {
    started = await startTestPlatform(kind, overrides, options);
    Object.assign(handle, started); // so spreading or listing the handle sees the platform's fields too
  });
  afterAll(async () => {
    await started?.close();
  });
  return new Proxy(handle, {
    get(_, key) {
      if (!started) throw new Error(`usePlatform: platform read (${String(key)}) before beforeAll started it`);
      return started[key as keyof TestPlatform];
    },
  });
}

/** A handle that reads through to what `get` returns, throwing while it is still undefined. */
function lazy<T extends object>(what: string, get: () => T | undefined): T {
  return new Proxy({} as T, {
    get(_, key) {
      const v = get();
      if (!v) throw new Error(`${what} read (${String(key)}) before beforeAll started it`);
      return v[key as keyof T];
    },
  });
}

/**
 * Two instances `a` and `b` over one fresh PostgreSQL database and TEST_REDIS_URL, with one admin token, started in
 * the suite's beforeAll and closed (then the database dropped) in its afterAll. `overrides` go to both instances.
 */
export function useCluster(overrides: Partial<Record<keyof Config, unknown>> = {}): {
  a: TestPlatform;
  b: TestPlatform;
} {
  let a: TestPlatform | undefined;
  let b: TestPlatform | undefined;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const db = await freshPostgresDatabase();
    drop = db.drop;
    const shared = {
      DATABASE_URL: db.url,
      REDIS_URL: process.env.TEST_REDIS_URL,
      ADMIN_TOKEN: `cluster-admin-${randomBytes(12).toString('hex')}`,
      ...overrides,
    };
    a = await startTestPlatform('postgres', shared);
    b = await startTestPlatform('postgres', shared);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await drop?.();
  });
  return { a: lazy('useCluster: instance a', () => a), b: lazy('useCluster: instance b', () => b) };
}

/** The product a suite made in its beforeAll and its registered devices (readable inside tests). */
export interface SuiteProduct {
  readonly pk: string;
  readonly devs: DeviceCreds[];
}

/**
 * Creates a product (with `input`, e.g. its TSL) and `count` devices on the suite's platform in its beforeAll
 * (register it after usePlatform): the `productWithDevices` every device suite starts with.
 */
export function useProduct(t: TestPlatform, count: number, input: Record<string, unknown> = {}): SuiteProduct {
  let made: { productKey: string; devices: DeviceCreds[] } | undefined;
  beforeAll(async () => {
    made = await productWithDevices(t, count, input);
  });
  const get = () => {
    if (!made) throw new Error('useProduct: product read before beforeAll made it');
    return made;
  };
  return {
    get pk() {
      return get().productKey;
    },
    get devs() {
      return get().devices;
    },
  };
}
