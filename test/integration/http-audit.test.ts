import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

describe('GraphQL over HTTP audit', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform('pglite');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('passes every graphql-http server audit', async () => {
    const audits = serverAudits({
      url: t.graphqlUrl,
      fetchFn: (input: RequestInfo | URL, init?: RequestInit) => {
        const headers = new Headers(init?.headers);
        headers.set('authorization', `Bearer ${t.adminToken}`);
        return fetch(input, { ...init, headers });
      },
    });
    const results = [];
    for (const audit of audits) results.push({ ...(await audit.fn()), name: audit.name, id: audit.id });
    const failures = results.filter((r) => r.status === 'error');
    console.log(results.filter((r) => r.status !== 'ok').map((r) => `${r.status} ${r.id} ${r.name}: ${'reason' in r ? r.reason : ''}`).join('\n'));
    expect(failures.map((f) => `${f.name}: ${'reason' in f ? f.reason : ''}`)).toEqual([]);
  });
});
