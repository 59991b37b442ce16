import http from 'node:http';
import net from 'node:net';
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

  /** A raw POST to /graphql: `chunks` written one by one, with Content-Length only when `length` is given. */
  function rawPost(token: string, chunks: string[], length?: number): Promise<{ status: number; body: string }> {
    const url = new URL(`${probed.probe.child.httpUrl}/graphql`);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${token}`,
            ...(length === undefined ? {} : { 'content-length': length }),
          },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      for (const c of chunks) req.write(c);
      req.end();
    });
  }

  it('counts a chunked body (no Content-Length) as it streams and refuses it past the cap', async () => {
    const head = '{"query":"{ products { edges { cursor } } }","variables":{"pad":"';
    const pad = Array.from({ length: 40 }, () => 'x'.repeat(64 * 1024));
    const [big, small] = await Promise.all([
      rawPost(probed.viewer, [head, ...pad, '"}}']),
      rawPost(probed.viewer, [head, 'x', '"}}']),
      probed.probe.responsive(),
    ]);
    expect(big.status).toBe(413);
    expect(small.status).toBe(200);
    expect(JSON.parse(small.body).data.products).toBeDefined();
  });

  it('reads a body with Content-Length as that many bytes, not more', async () => {
    const doc = JSON.stringify({ query: '{ products { edges { cursor } } }' });
    const url = new URL(probed.probe.child.httpUrl);
    // The bytes after Content-Length are not this request's body: llhttp parses them as the next request (a pipelined
    // GET here), so the body stops at its declared length whatever follows it.
    const first = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname);
      let got = '';
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => {
        got += c;
        if (got.includes('"data"')) socket.destroy(), resolve(got);
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(got));
      socket.write(
        `POST /graphql HTTP/1.1\r\nHost: ${url.host}\r\ncontent-type: application/json\r\n` +
          `authorization: Bearer ${probed.viewer}\r\ncontent-length: ${Buffer.byteLength(doc)}\r\n\r\n${doc}` +
          `GET /?pad=${'x'.repeat(4000)} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`,
      );
    });
    expect(first.startsWith('HTTP/1.1 200')).toBe(true);
    expect(first).toContain('"products"');
  });
});
