import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createProduct, registerDevices } from '../integration/support.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

/**
 * Finding 6: only depth was limited. Aliases and nested lists multiplied work, each Device resolved its product with
 * its own query, and a key could send expensive queries without end. Small limits here, so the suite stays fast.
 */
const MAX_COST = 5_000;

describe('GraphQL cost limits', () => {
  let t: TestPlatform;
  let pk: string;
  beforeAll(async () => {
    t = await startTestPlatform('pglite', {
      GRAPHQL_MAX_COST: MAX_COST,
      GRAPHQL_RATE_LIMIT: MAX_COST,
      GRAPHQL_MAX_ALIASES: 20,
      GRAPHQL_MAX_FIELDS: 300,
    });
    pk = (await createProduct(t, { name: 'Cost lamp' })).productKey;
    await registerDevices(
      t,
      pk,
      Array.from({ length: 12 }, (_, i) => `cost-${i}`),
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses nested lists whose page sizes multiply beyond the cost limit, before running them', async () => {
    const { token } = await createApiKey(t, 'VIEWER');
    const r = await t.gql(
      `{ products(first: 500) { edges { node { devices(first: 500) { edges { node { product { devices(first: 500) { edges { node { deviceName } } } } } } } } } } }`,
      {},
      token,
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(r.data ?? null).toBeNull();
    // Page sizes given as variables count the same.
    const v = await t.gql(
      `query($n: Int) { products(first: $n) { edges { node { devices(first: $n) { edges { node { deviceName } } } } } } }`,
      { n: 500 },
      token,
    );
    expect(v.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    const small = await t.gql(
      `query($n: Int) { products(first: $n) { edges { node { devices(first: $n) { edges { node { deviceName } } } } } } }`,
      { n: 5 },
      token,
    );
    expect(small.errors).toBeUndefined();
  });

  it('refuses too many aliases and too many fields', async () => {
    const { token } = await createApiKey(t, 'VIEWER');
    const aliases = Array.from({ length: 21 }, (_, i) => `a${i}: products(first: 1) { edges { cursor } }`).join(' ');
    const r = await t.gql(`{ ${aliases} }`, {}, token);
    expect(r.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    // Fragments expand: 2^10 copies of a small selection from a short document.
    const frags = Array.from({ length: 10 }, (_, i) => `fragment F${i + 1} on Query { ...F${i} ...F${i} }`).join('\n');
    const f = await t.gql(
      `{ ...F10 }\nfragment F0 on Query { products(first: 1) { edges { cursor } } }\n${frags}`,
      {},
      token,
    );
    expect(f.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('bounds introspection like any other query', async () => {
    const { token } = await createApiKey(t, 'VIEWER');
    // graphql-js refuses fields → type → fields cycles itself; wide introspection is what the cost limit catches.
    const wide = Array.from(
      { length: 10 },
      (_, i) => `s${i}: __schema { types { fields { args { name type { name } } } } }`,
    ).join(' ');
    const r = await t.gql(`{ ${wide} }`, {}, token);
    expect(r.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    const plain = await t.gql(`{ __schema { queryType { name } } }`, {}, token);
    expect(plain.data.__schema.queryType.name).toBe('Query');
  });

  it('loads the products of listed devices in one batch, not one query per device', async () => {
    const products = t.platform.services.products as unknown as Record<string, (...a: unknown[]) => unknown>;
    const calls = { get: 0, getMany: 0 };
    const orig = { get: products.get!, getMany: products.getMany };
    products.get = (...a: unknown[]) => (calls.get++, orig.get(...a));
    if (orig.getMany) products.getMany = (...a: unknown[]) => (calls.getMany++, orig.getMany!(...a));
    try {
      const r = await t.gql(
        `query($pk: String!) { devices(productKey: $pk, first: 12) { edges { node { deviceName product { productKey } } } } }`,
        { pk },
      );
      expect(r.errors).toBeUndefined();
      expect(r.data.devices.edges).toHaveLength(12);
      expect(r.data.devices.edges.every((e: any) => e.node.product.productKey === pk)).toBe(true);
      expect(calls.get + calls.getMany).toBe(1);
    } finally {
      Object.assign(products, orig);
    }
  });

  it('answers RATE_LIMITED (HTTP 429) once a key has spent its budget, per key', async () => {
    const a = await createApiKey(t, 'VIEWER');
    const b = await createApiKey(t, 'VIEWER');
    const q = `{ products(first: 500) { edges { node { productKey name } } } }`; // about 1,500
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await t.gql(q, {}, a.token));
    const limited = results.find((r) => r.errors?.[0]?.extensions?.code === 'RATE_LIMITED');
    expect(limited).toBeDefined();
    expect(limited!.status).toBe(429);
    expect(limited!.errors![0].extensions.retryAfterSeconds).toBeGreaterThan(0);
    // Another key has its own budget.
    const other = await t.gql(q, {}, b.token);
    expect(other.errors).toBeUndefined();
  });
});
