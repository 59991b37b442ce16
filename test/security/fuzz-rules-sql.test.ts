import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuleEvaluationError, type RuleContext } from '../../src/domain/rules/functions.ts';
import { likeMatch } from '../../src/domain/rules/like.ts';
import { compileRuleSql } from '../../src/domain/rules/sql.ts';

/**
 * Property-based fuzzing of the rule SQL compiler and evaluator. `npm test` runs a few hundred cases per
 * property; `npm run fuzz` runs FUZZ_RUNS=100000.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const params = { numRuns: RUNS, endOnFailure: true };
// A long run is bounded by the number of cases, not by vitest's per-test timeout.
const timeout = Math.max(30_000, RUNS * 20);

/** The old regex translation, as the reference for small inputs (where backtracking is harmless). */
function likeByRegex(text: string, pattern: string): boolean {
  const re = [...pattern]
    .map((c) => (c === '%' ? '.*' : c === '_' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${re}$`, 'su').test(text);
}

const alphabet = fc.constantFrom('a', 'b', '%', '_', '.', '*', '\\', '€', '😀', '\n');
const small = (max: number) => fc.array(alphabet, { maxLength: max }).map((a) => a.join(''));

const ident = fc.constantFrom('temperature', 'items.Temp.value', 'a.b', 'x', 'name', 'arr', 'deep.er.path');
const literal = fc.oneof(
  fc.integer({ min: -1e6, max: 1e6 }).map(String),
  fc
    .double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 })
    .map((d) => (Number.isInteger(d) ? `${d}` : d.toFixed(3))),
  fc.string({ maxLength: 12 }).map((s) => `'${s.replace(/'/g, "''").replace(/\\/g, '')}'`),
  fc.constantFrom('true', 'false', 'null'),
);
const fnName = fc.constantFrom(
  'abs',
  'lower',
  'upper',
  'concat',
  'replace',
  'substring',
  'topic',
  'deviceName',
  'timestamp',
  'crypto',
  'mod',
  'power',
  'log',
  'nanvl',
  'to_base64',
  'endswith',
  'startswith',
  'thingPropertyFlatMap',
  'payload',
  'attribute',
  'productKey',
  'messageId',
);
const { expr } = fc.letrec((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    ident,
    literal,
    fc
      .tuple(
        tie('expr'),
        fc.constantFrom('+', '-', '*', '/', '%', '=', '<>', '<', '>=', 'AND', 'OR', 'LIKE', 'NOT LIKE'),
        tie('expr'),
      )
      .map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc.tuple(fnName, fc.array(tie('expr'), { maxLength: 3 })).map(([f, args]) => `${f}(${args.join(', ')})`),
    fc
      .tuple(tie('expr'), fc.array(literal, { minLength: 1, maxLength: 3 }))
      .map(([a, l]) => `${a} IN (${l.join(', ')})`),
    fc.tuple(tie('expr'), literal, literal).map(([a, l, h]) => `${a} BETWEEN ${l} AND ${h}`),
    tie('expr').map((a) => `NOT ${a}`),
    tie('expr').map((a) => `${a} IS NULL`),
  ),
}));
const statement = fc
  .tuple(
    fc.array(fc.tuple(expr, fc.option(fc.constantFrom('f1', 'f2', 'out'))), { minLength: 1, maxLength: 3 }),
    fc.option(expr),
  )
  .map(
    ([fields, where]) =>
      `SELECT ${fields.map(([e, a]) => (a ? `${e} AS ${a}` : e)).join(', ')} FROM "/pk1/+/user/data"${where ? ` WHERE ${where}` : ''}`,
  );

const jsonPayload = fc.jsonValue({ maxDepth: 4 });

function context(json: unknown): RuleContext {
  const raw = Buffer.from(JSON.stringify(json) ?? 'null');
  return {
    topic: '/pk1/dev1/user/data',
    json,
    raw,
    productKey: 'pk1',
    deviceName: 'dev1',
    messageId: '1',
    timestamp: 1_700_000_000_000,
    attributes: { k: 'v' },
  };
}

describe('rule SQL fuzzing', () => {
  it('LIKE agrees with the regex translation on small inputs', { timeout }, () => {
    fc.assert(
      fc.property(small(12), small(6), (text, pattern) => {
        expect(likeMatch(text, pattern)).toBe(likeByRegex(text, pattern));
      }),
      params,
    );
  });

  it('compiling arbitrary text never throws: it is a rule or a positioned error', { timeout }, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          statement.map((s) => s.slice(0, Math.max(0, s.length - 3))),
        ),
        (sql) => {
          const r = compileRuleSql(sql);
          if (!r.ok) expect(typeof r.error.message).toBe('string');
        },
      ),
      params,
    );
  });

  it('generated rules evaluate on arbitrary JSON without throwing anything but RuleEvaluationError', {
    timeout,
  }, () => {
    fc.assert(
      fc.property(statement, jsonPayload, (sql, json) => {
        const r = compileRuleSql(sql);
        if (!r.ok) return; // e.g. a wrong arity: refused with a message, checked above
        const ctx = context(json);
        try {
          const where = r.value.where(ctx);
          expect(typeof where).toBe('boolean');
          const out = r.value.select(ctx);
          expect(out !== null && typeof out === 'object').toBe(true);
          JSON.stringify(out);
        } catch (e) {
          if (!(e instanceof RuleEvaluationError)) throw e;
        }
      }),
      params,
    );
  });
});
