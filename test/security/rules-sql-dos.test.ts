import { describe, expect, it } from 'vitest';
import { likeMatch } from '../../src/domain/rules/like.ts';
import { compileRuleSql } from '../../src/domain/rules/sql.ts';
import { useProbeWithViewer } from './support.ts';

/**
 * Finding 5: rule `LIKE` was a backtracking regex: `'%a%a%a%a%a%a%b'` against a long run of `a` takes hours, reachable by
 * a VIEWER through testRule (and by a device through a running rule). The platform runs in a child process, so a
 * blocked event loop fails this suite (its answers never come) instead of freezing it.
 */
describe('rule SQL denial of service', () => {
  const probed = useProbeWithViewer();

  it('answers a hostile LIKE in testRule (a VIEWER) while health, GraphQL and device replies keep coming', async () => {
    const hostile = probed.probe.gql(
      `query($sql: String!, $payload: JSON!) { testRule(sql: $sql, topic: "/pk1/dev1/user/data", payload: $payload) { matched userErrors { code } } }`,
      {
        sql: `SELECT * FROM "/pk1/+/user/data" WHERE s LIKE '%a%a%a%a%a%a%a%a%a%a%a%b'`,
        payload: { s: 'a'.repeat(20_000) },
      },
      probed.viewer,
    );
    const [r] = await Promise.all([hostile, probed.probe.responsive()]);
    expect(r.body.data.testRule).toEqual({ matched: false, userErrors: [] });
  });

  it('keeps LIKE semantics: % any run, _ one character (code points), the rest literal, bounded operands', () => {
    expect(likeMatch('hello world', 'hello%')).toBe(true);
    expect(likeMatch('hello', 'h_llo')).toBe(true);
    expect(likeMatch('h😀llo', 'h_llo')).toBe(true);
    expect(likeMatch('hello', 'h.llo')).toBe(false);
    expect(likeMatch(`${'a'.repeat(100_000)}b`, '%a%a%a%a%a%a%a%a%b')).toBe(true);
    expect(likeMatch('x'.repeat(2 * 1024 * 1024), '%')).toBe(false); // longer than LIKE_MAX_TEXT: no match
  });

  it('bounds what rule functions build and how deep expressions nest', () => {
    const c = compileRuleSql(`SELECT replace(replace(s, 'a', s), 'a', s) AS big FROM "/pk1/+/user/data"`);
    expect(c.ok).toBe(true);
    const ctx = {
      topic: '/pk1/d/user/data',
      json: { s: 'a'.repeat(2000) },
      raw: Buffer.alloc(0),
      productKey: 'pk1',
      deviceName: 'd',
      messageId: '1',
      timestamp: 0,
    };
    expect(() => (c.ok ? c.value.select(ctx) : null)).toThrow(/at most/);
    const deep = compileRuleSql(`SELECT * FROM "/pk1/+/user/data" WHERE ${'abs('.repeat(100)}1${')'.repeat(100)} = 1`);
    expect(deep.ok).toBe(false);
  });
});
