import { describe, expect, it } from 'vitest';
import { useProbeWithViewer } from './support.ts';

/**
 * Finding 2: one anonymous request could freeze the process. The depth limit walked fragment spreads afresh at every
 * spread (exponential in nested spreads), and parsing and validation ran before authentication. The platform runs
 * in a child process: a blocked event loop there fails these tests (answers never come) instead of freezing them.
 */

/** 2^n copies of one selection from a document of n + 1 short fragments. */
function spreads(n: number): string {
  const frags = Array.from({ length: n }, (_, i) => `fragment F${i + 1} on Query { ...F${i} ...F${i} }`).join('\n');
  return `query { ...F${n} }\nfragment F0 on Query { products(first: 1) { edges { node { productKey } } } }\n${frags}`;
}

describe('GraphQL denial of service', () => {
  const probed = useProbeWithViewer();

  it('refuses an anonymous request before parsing it, while health, GraphQL and device replies keep coming', async () => {
    const hostile = Promise.all([
      probed.probe.gql(spreads(40), {}, null),
      probed.probe.gql(spreads(40), {}, 'not-a-key'),
    ]);
    const [[anon, bad]] = await Promise.all([hostile, probed.probe.responsive()]);
    for (const r of [anon, bad]) {
      expect(r.status).toBe(401);
      expect(r.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    // GraphiQL itself still opens in a browser without a token.
    const page = await fetch(`${probed.probe.child.httpUrl}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
  });

  it('measures nested fragment spreads in linear time and refuses the expansion', async () => {
    const [r] = await Promise.all([probed.probe.gql(spreads(40), {}, probed.viewer), probed.probe.responsive()]);
    expect(r.body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(r.body.data ?? null).toBeNull();
  });

  it('stops parsing at the token limit', async () => {
    const [r] = await Promise.all([
      probed.probe.gql(`{ ${'products { edges { cursor } } '.repeat(5_000)} }`, {}, probed.viewer),
      probed.probe.responsive(),
    ]);
    expect(r.body.errors[0].message).toMatch(/more th.. \d+ tokens/);
  });

  it('caps JSON request bodies, and refuses anonymous ones before reading them', async () => {
    const big = JSON.stringify({
      query: '{ products { edges { cursor } } }',
      variables: { pad: 'x'.repeat(2 * 1024 * 1024) },
    });
    const send = (token: string | null) =>
      fetch(`${probed.probe.child.httpUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: big,
      });
    const [authed, anon] = await Promise.all([send(probed.viewer), send(null), probed.probe.responsive()]);
    expect(authed.status).toBe(413);
    expect(anon.status).toBe(401);
  });
});
