import { describe, expect, it } from 'vitest';
import { MAX_QUERY_DEPTH } from '../../src/http/graphql.ts';
import { usePlatform } from '../helpers/use-platform.ts';

/** products → devices → product → devices ...: each `devices { edges { node { product {` adds four levels (small pages:
 * the cost limit multiplies page sizes). */
function nested(levels: number): string {
  let q = 'productKey';
  let depth = 1;
  while (depth + 4 <= levels) {
    q = `devices(first: 5) { edges { node { product { ${q} } } } }`;
    depth += 4;
  }
  return `{ products(first: 5) { edges { node { ${q} } } } }`;
}

describe('query limits', () => {
  const t = usePlatform('pglite');

  it(`refuses a query nested deeper than ${MAX_QUERY_DEPTH} levels with QUERY_TOO_COMPLEX, before it runs`, async () => {
    const deep = await t.gql(nested(MAX_QUERY_DEPTH + 4));
    expect(deep.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(deep.data ?? null).toBeNull();
  });

  it('answers queries within the limit, introspection included', async () => {
    const ok = await t.gql(nested(MAX_QUERY_DEPTH - 2));
    expect(ok.errors).toBeUndefined();
    const intro = await t.gql(
      '{ __schema { types { name fields { name type { name ofType { name ofType { name ofType { name } } } } } } } }',
    );
    expect(intro.errors).toBeUndefined();
    expect(intro.data.__schema.types.length).toBeGreaterThan(50);
  });
});
