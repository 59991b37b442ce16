import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { createProduct } from './support.ts';
import { describeEachDb } from '../helpers/services-env.ts';

/** A Prometheus sample value (first series of that name matching the label text), or null. */
function sample(body: string, name: string, labels = ''): number | null {
  const line = body.split('\n').find((l) => (l.startsWith(`${name}{`) ? l.includes(labels) : l.startsWith(`${name} `)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : null;
}

describeEachDb('HTTP endpoints on %s', (kind) => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('passes every graphql-http server audit (GraphQL over HTTP spec) with no failure', async () => {
    const audits = serverAudits({
      url: t.graphqlUrl,
      fetchFn: (input: RequestInfo | URL, init?: RequestInit) => {
        const headers = new Headers(init?.headers);
        headers.set('authorization', `Bearer ${t.adminToken}`);
        return fetch(input, { ...init, headers });
      },
    });
    expect(audits.length).toBeGreaterThan(30);
    const results = await Promise.all(audits.map(async (a) => ({ ...(await a.fn()), name: a.name })));
    const failures = results
      .filter((r) => r.status === 'error')
      .map((r) => `${r.name}: ${'reason' in r ? r.reason : ''}`);
    expect(failures, `failed audits:\n${failures.join('\n')}`).toEqual([]);
    for (const r of results) expect(['ok', 'warn']).toContain(r.status);
  });

  it('answers /healthz with 200 without a token', async () => {
    const res = await fetch(`${t.httpUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
  });

  it('answers /readyz with 200 while the database answers', async () => {
    const res = await fetch(`${t.httpUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ready\n');
  });

  it('serves Prometheus metrics with thingql_ names that count operations and events', async () => {
    const first = await fetch(`${t.httpUrl}/metrics`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const before = await first.text();
    expect(before).toMatch(/^# HELP thingql_/m);
    expect(before).toContain('thingql_process_cpu_user_seconds_total');
    const opsBefore = sample(before, 'thingql_graphql_operations_total', 'type="mutation",outcome="ok"') ?? 0;

    const { productKey } = await createProduct(t, { name: 'Metrics lamp' });
    await t.gql(
      `mutation($pk: String!) { registerDevice(input: { productKey: $pk, deviceName: "metrics-1" }) { userErrors { code } } }`,
      { pk: productKey },
    );

    const after = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(sample(after, 'thingql_graphql_operations_total', 'type="mutation",outcome="ok"')).toBe(opsBefore + 2);
    expect(sample(after, 'thingql_events_appended_total', 'type="device.lifecycle"')).toBeGreaterThanOrEqual(1);
  });

  it('serves GraphiQL to a browser on GET /graphql without a token', async () => {
    const res = await fetch(t.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toMatch(/graphiql/i);
  });

  it('serves the web console on / (its page, or the "being built" page before the first build)', async () => {
    const res = await fetch(t.httpUrl, { redirect: 'manual' });
    expect([200, 503]).toContain(res.status);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toMatch(/<title>ThingQL/);
  });
});

describeEachDb('readiness on %s', (kind) => {
  it('answers /readyz with 503 once the database is gone, while /healthz stays 200', async () => {
    const t = await startTestPlatform(kind);
    try {
      expect((await fetch(`${t.httpUrl}/readyz`)).status).toBe(200);
      await t.platform.database.close();
      const res = await fetch(`${t.httpUrl}/readyz`);
      expect(res.status).toBe(503);
      expect((await fetch(`${t.httpUrl}/healthz`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
