import { describe, expect, it } from 'vitest';
import { FUNCTIONS, type RuleContext } from '../../../src/domain/rules/functions.ts';
import { compileRuleSql, type SqlError } from '../../../src/domain/rules/sql.ts';

/**
 * The rule SQL layer (alink-protocol.md §5.5): `SELECT <fields> FROM "<topic filter>" [WHERE <condition>]`, compiled
 * once with node-sql-parser and run per forwarding message.
 */

const TOPIC = '/a1B2c3/dev-1/user/update';
// 2023-11-14T22:13:20.123Z, that is 2023-11-15 06:13:20.123 in Beijing time (UTC+8).
const TS = 1_700_000_000_123;

function context(json: unknown, extra: Partial<RuleContext> = {}): RuleContext {
  return {
    topic: TOPIC,
    json,
    raw: Buffer.from(typeof json === 'string' ? json : JSON.stringify(json)),
    productKey: 'a1B2c3',
    deviceName: 'dev-1',
    messageId: '1001',
    timestamp: TS,
    ...extra,
  };
}

function compile(sql: string) {
  const r = compileRuleSql(sql);
  if (!r.ok) throw new Error(`did not compile: ${JSON.stringify(r.error)}`);
  return r.value;
}

/** The SELECT output of `SELECT <fields> FROM "/a1B2c3/+/user/#"` for one message. */
const select = (fields: string, json: unknown = {}, extra: Partial<RuleContext> = {}) =>
  compile(`SELECT ${fields} FROM "/a1B2c3/+/user/#"`).select(context(json, extra));
/** The value of one expression. */
const value = (expr: string, json: unknown = {}, extra: Partial<RuleContext> = {}) =>
  select(`${expr} AS v`, json, extra).v;
/** Whether `WHERE <condition>` holds for one message. */
const where = (condition: string, json: unknown) =>
  compile(`SELECT * FROM "/a1B2c3/+/user/#" WHERE ${condition}`).where(context(json));

function refused(sql: string): SqlError {
  const r = compileRuleSql(sql);
  if (r.ok) throw new Error(`compiled, but should have been refused: ${sql}`);
  return r.error;
}

describe('rule SQL functions', () => {
  const doc = { s: 'abc', n: -2.5, mixed: 'ThingQL' };
  // One row per function of functions.ts (the last test checks none is missing): [function, expression, expected].
  const cases: [string, string, unknown][] = [
    ['devicename', 'deviceName()', 'dev-1'],
    ['productkey', 'productKey()', 'a1B2c3'],
    ['messageid', 'messageId()', '1001'],
    ['topic', 'topic()', TOPIC],
    ['topic', 'topic(1)', 'a1B2c3'],
    ['topic', 'topic(3)', 'user'],
    ['topic', 'topic(9)', null],
    ['timestamp', 'timestamp()', TS],
    ['timestamp', "timestamp('yyyy-MM-dd HH:mm:ss.SSS')", '2023-11-15 06:13:20.123'],
    ['timestamp_utc', "timestamp_utc('yyyy-MM-dd HH:mm:ss')", '2023-11-14 22:13:20'],
    ['timestamp_utc', 'timestamp_utc()', TS],
    ['payload', 'payload()', JSON.stringify(doc)],
    ['payload', "payload('base64')", Buffer.from(JSON.stringify(doc)).toString('base64')],
    ['attribute', "attribute('room')", null],
    ['concat', "concat(s, '-', n, 1)", 'abc--2.51'],
    ['concat', 'concat(s, missing)', null],
    ['lower', 'lower(mixed)', 'thingql'],
    ['upper', 'upper(mixed)', 'THINGQL'],
    ['endswith', "endswith(mixed, 'QL')", true],
    ['endswith', "endswith(mixed, 'ql')", false],
    ['startswith', "startswith(mixed, 'Thing')", true],
    ['replace', "replace('a-b-c', '-', '+')", 'a+b+c'],
    ['substring', 'substring(mixed, 5)', 'QL'],
    ['substring', 'substring(mixed, 0, 5)', 'Thing'],
    ['to_base64', "to_base64('hi')", 'aGk='],
    ['crypto', "crypto(s, 'md5')", '900150983cd24fb0d6963f7d28e17f72'],
    ['crypto', "crypto(s, 'SHA256')", 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['crypto', "crypto(s, 'nope')", null],
    ['abs', 'abs(n)', 2.5],
    ['floor', 'floor(n)', -3],
    ['ceil', 'ceil(n)', -2],
    ['round', 'round(2.5)', 3],
    ['asin', 'asin(1)', Math.PI / 2],
    ['cos', 'cos(0)', 1],
    ['cosh', 'cosh(0)', 1],
    ['sin', 'sin(0)', 0],
    ['sinh', 'sinh(0)', 0],
    ['tan', 'tan(0)', 0],
    ['tanh', 'tanh(0)', 0],
    ['exp', 'exp(0)', 1],
    ['log', 'log(1)', 0],
    ['log', 'log(2, 8)', 3],
    ['power', 'power(2, 10)', 1024],
    ['mod', 'mod(7, 3)', 1],
    ['mod', 'mod(7, 0)', null],
    ['nanvl', "nanvl('not a number', 0)", 0],
    ['nanvl', 'nanvl(5, 0)', 5],
    ['abs', "abs('text')", null],
    ['thingpropertyflatmap', "thingPropertyFlatMap('Temperature')", null], // not a property post: no items
  ];

  it.each(cases)('%s: %s is %j', (_fn, expr, expected) => {
    expect(value(expr, doc)).toEqual(expected);
  });

  it('attribute(key) reads the device tag of that key', () => {
    expect(value("attribute('room')", {}, { attributes: { room: 'lab 2' } })).toBe('lab 2');
  });

  it('thingPropertyFlatMap(...) flattens the values of a property post into output fields', () => {
    const post = {
      items: {
        Temperature: { value: 39.5, time: 1 },
        Humidity: { value: 61, time: 1 },
        Battery: { value: 80, time: 1 },
      },
    };
    expect(select('thingPropertyFlatMap(\'Temperature\', "Humidity"), deviceName() AS dn', post)).toEqual({
      Temperature: 39.5,
      Humidity: 61,
      dn: 'dev-1',
    });
    expect(select('thingPropertyFlatMap()', post)).toEqual({ Temperature: 39.5, Humidity: 61, Battery: 80 });
    expect(select("thingPropertyFlatMap('Temperature', 'Missing') AS p", post)).toEqual({
      p: { Temperature: 39.5, Missing: null },
    });
    expect(select("thingPropertyFlatMap('Temperature')", { other: 1 })).toEqual({});
  });

  it('newuuid() gives a fresh UUID on every call', () => {
    const out = select('newuuid() AS a, newuuid() AS b');
    expect(out.a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(out.b).not.toBe(out.a);
  });

  it('rand() gives a number in [0, 1)', () => {
    const v = value('rand()') as number;
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThan(1);
  });

  it('takes function names in any case', () => {
    expect(select('DEVICENAME() AS a, DeviceName() AS b, Upper(s) AS c', { s: 'x' })).toEqual({
      a: 'dev-1',
      b: 'dev-1',
      c: 'X',
    });
  });

  it('has a case above for every function it offers', () => {
    const tested = new Set([...cases.map((c) => c[0]), 'newuuid', 'rand']);
    expect(Object.keys(FUNCTIONS).filter((f) => !tested.has(f))).toEqual([]);
  });

  it('returns null instead of failing the rule when a digest algorithm is not available (md2 under OpenSSL 3)', () => {
    expect(() => value("crypto('abc', 'md2')")).not.toThrow();
  });
});

describe('rule SQL WHERE', () => {
  const msg = {
    t: 39.5,
    n: 3,
    s: 'kitchen-1',
    flag: true,
    nested: { level: 2 },
    items: { Temperature: { value: 39.5, time: 1 } },
    zero: 0,
    nothing: null,
  };
  const cases: [string, boolean][] = [
    ['t > 38', true],
    ['t > 39.5', false],
    ['t >= 39.5', true],
    ['t < 40 AND t <= 39.5', true],
    ['n = 3', true],
    ["n = '3'", true],
    ['n <> 3', false],
    ['n != 4', true],
    ["s = 'kitchen-1'", true],
    ["s > 'k'", true],
    ['items.Temperature.value > 38', true],
    ['nested.level = 2', true],
    ['t > 38 AND n = 4', false],
    ['t > 40 OR n = 3', true],
    ['NOT n = 3', false],
    ['NOT (t > 40)', true],
    ["t > 38 AND (n = 4 OR s LIKE 'kit%')", true],
    ['n + 1 = 4', true],
    ['n - 1 = 2', true],
    ['n * 2 = 6', true],
    ['n / 2 = 1.5', true],
    ['n % 2 = 1', true],
    ['(n + 1) * 2 > t - 32', true],
    ['-n = -3', true],
    ['n IN (1, 2, 3)', true],
    ["s IN ('a', 'kitchen-1')", true],
    ['n IN (4, 5)', false],
    ['n NOT IN (4, 5)', true],
    ['n NOT IN (3)', false],
    ["s LIKE 'kitchen%'", true],
    ["s LIKE 'kitchen-_'", true],
    ["s LIKE 'kitchen_'", false],
    ["s LIKE '%chen%'", true],
    ["s NOT LIKE 'bath%'", true],
    ['missing IS NULL', true],
    ['nothing IS NULL', true],
    ['zero IS NULL', false],
    ['s IS NOT NULL', true],
    ['missing IS NOT NULL', false],
    ['n BETWEEN 1 AND 3', true],
    ['t BETWEEN 40 AND 50', false],
    ['t NOT BETWEEN 40 AND 50', true],
    ['flag', true],
    ['flag = true', true],
    ['zero', false],
    // Comparisons with null (a missing field) are never true, as in SQL.
    ['missing > 1', false],
    ['missing = missing', false],
    ['missing + 1 = 1', false],
    ["deviceName() = 'dev-1' AND topic(3) = 'user'", true],
    ["productKey() LIKE 'a1%'", true],
  ];
  it.each(cases)('WHERE %s is %s', (condition, expected) => {
    expect(where(condition, msg)).toBe(expected);
  });

  it('without WHERE every message matches', () => {
    expect(compile('SELECT a FROM "/a1B2c3/+/user/#"').where(context({}))).toBe(true);
  });
});

describe('rule SQL SELECT', () => {
  const msg = {
    a: { b: { c: { d: 4 } } },
    items: { Temperature: { value: 39.5, time: 1700000000000 } },
    status: 'online',
    value: 7,
    data: { k: 1 },
  };

  it('* gives the whole JSON body', () => {
    expect(select('*', msg)).toEqual(msg);
  });

  it('* merges with further fields, which win on a name clash', () => {
    expect(select('*, deviceName() AS value', msg)).toEqual({ ...msg, value: 'dev-1' });
  });

  it('* of a payload that is not a JSON object gives it as base64 under "payload"', () => {
    const raw = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    expect(compile('SELECT * FROM "/a1B2c3/+/user/#"').select(context(null, { raw }))).toEqual({ payload: '3q2+7w==' });
  });

  it('AS names output fields', () => {
    expect(select('value AS v, status AS s', msg)).toEqual({ v: 7, s: 'online' });
  });

  it.each([
    ['a', { b: { c: { d: 4 } } }],
    ['a.b', { c: { d: 4 } }],
    ['a.b.c', { d: 4 }],
    ['a.b.c.d', 4],
    ['items.Temperature.value', 39.5],
  ])('reads the JSON path %s', (path, expected) => {
    expect(value(path, msg)).toEqual(expected);
  });

  it('names an unaliased field after the last level of its path, and a function after its name as written', () => {
    expect(select('items.Temperature.value, a.b.c.d, status, deviceName()', msg)).toEqual({
      value: 39.5,
      d: 4,
      status: 'online',
      'deviceName()': 'dev-1',
    });
  });

  it('gives null for paths that do not exist or go through a non-object', () => {
    expect(select('a.x.y AS p, value.x AS q, nope AS r', msg)).toEqual({ p: null, q: null, r: null });
  });

  it('reads fields named like SQL keywords that the forwarding shapes use', () => {
    expect(select('status, value, data.k AS k, `order`', { ...msg, order: 3 })).toEqual({
      status: 'online',
      value: 7,
      k: 1,
      order: 3,
    });
  });

  it('computes literals and arithmetic', () => {
    expect(select("1 + 2 AS x, 'text' AS y, null AS z, true AS w, items.Temperature.value * 10 AS t10", msg)).toEqual({
      x: 3,
      y: 'text',
      z: null,
      w: true,
      t10: 395,
    });
  });

  it('keeps the FROM topic filter with its wildcards', () => {
    expect(compile('SELECT * FROM "/a1B2c3/+/thing/event/+/post"').topicFilter).toBe('/a1B2c3/+/thing/event/+/post');
    expect(compile('SELECT * FROM "/as/mqtt/status/a1B2c3/+"').topicFilter).toBe('/as/mqtt/status/a1B2c3/+');
    expect(compile('SELECT * FROM "/a1B2c3/#"').topicFilter).toBe('/a1B2c3/#');
  });
});

describe('rule SQL refusals', () => {
  it('gives the line and column of a syntax error', () => {
    const e = refused('SELECT a\nFROM "/a1B2c3/+/user/#"\nWHERE a >> 1');
    expect(e.message).toMatch(/syntax error/);
    expect({ line: e.line, column: e.column }).toEqual({ line: 3, column: 10 });
    expect(e.offset).toBe('SELECT a\nFROM "/a1B2c3/+/user/#"\nWHERE a >'.length);
  });

  it('points at the end of a statement that stops too early', () => {
    const sql = 'SELECT a FROM "/a1B2c3/+/user/#" WHERE a = 1 AND';
    expect(refused(sql)).toMatchObject({ message: 'syntax error at the end', line: 1, column: sql.length + 1 });
  });

  it('points at a misspelt keyword', () => {
    expect(refused('SELEC a FROM "/a1B2c3/+/user/#"')).toMatchObject({ line: 1, column: 7 });
  });

  it('refuses an unknown function, at its position', () => {
    expect(refused('SELECT a\n  FROM "/a1B2c3/+/user/#"\n  WHERE nosuch(a) = 1')).toMatchObject({
      message: 'unknown function nosuch()',
      line: 3,
      column: 9,
    });
  });

  it.each([
    ['SELECT deviceName(1) AS x FROM "/a/#"', 'devicename() takes 0 arguments, got 1'],
    ['SELECT abs() AS x FROM "/a/#"', 'abs() takes 1 arguments, got 0'],
    ['SELECT abs(1, 2) AS x FROM "/a/#"', 'abs() takes 1 arguments, got 2'],
    ['SELECT topic(1, 2) AS x FROM "/a/#"', 'topic() takes 0 to 1 arguments, got 2'],
    ['SELECT concat() AS x FROM "/a/#"', 'concat() takes 1 to 64 arguments, got 0'],
    ['SELECT a FROM "/a/#" WHERE mod(a) = 1', 'mod() takes 2 arguments, got 1'],
  ])('refuses a wrong number of arguments: %s', (sql, message) => {
    const e = refused(sql);
    expect(e.message).toBe(message);
    expect(e.column).not.toBeNull();
  });

  it.each([
    ['SELECT a FROM "/a/#" GROUP BY a', 'GROUP BY is not supported in rules', 'GROUP'],
    ['SELECT a FROM "/a/#" ORDER BY a', 'ORDER BY is not supported in rules', 'ORDER'],
    ['SELECT a FROM "/a/#" LIMIT 1', 'LIMIT is not supported in rules', 'LIMIT'],
    ['SELECT a FROM "/a/#" HAVING a > 1', 'HAVING is not supported in rules', 'HAVING'],
    ['SELECT a FROM "/a/#" x JOIN "/b/#" y ON x.a = y.a', 'FROM takes exactly one quoted topic filter', 'FROM'],
    ['SELECT a FROM "/a/#", "/b/#"', 'FROM takes exactly one quoted topic filter', 'FROM'],
    ['SELECT a FROM "/a/#" UNION SELECT b FROM "/b/#"', 'UNION is not supported in rules', 'UNION'],
    ['SELECT count(*) FROM "/a/#"', 'count() is an aggregate function', 'count'],
    ['SELECT a FROM "/a/#" WHERE a > (SELECT 1)', 'subqueries are not supported in rules', '(SELECT'],
    ['SELECT CASE WHEN a THEN 1 END FROM "/a/#"', 'CASE expressions are not supported in rules', 'CASE'],
    ['WITH x AS (SELECT 1) SELECT a FROM "/a/#"', 'WITH is not supported in rules', 'WITH'],
  ])('refuses %s, pointing at the clause', (sql, message, at) => {
    const e = refused(sql);
    expect(e.message).toContain(message);
    expect(e.offset).toBe(sql.indexOf(at));
    expect(e.column).toBe(sql.indexOf(at) + 1);
  });

  it.each([
    ['SELECT a FROM "a1B2c3/+/user/#"', 'is not a valid topic filter'],
    ['SELECT a FROM "/a1B2c3/#/user"', 'is not a valid topic filter'],
    ['SELECT a FROM plain', 'is not a valid topic filter'],
    ['SELECT a', 'FROM takes exactly one quoted topic filter'],
  ])('refuses %s: the FROM must be one topic filter', (sql, message) => {
    expect(refused(sql).message).toContain(message);
  });

  it.each([
    ['UPDATE x SET a = 1', 'only SELECT statements are rules'],
    ['SELECT a FROM "/a/#"; SELECT b FROM "/b/#"', 'one SELECT statement expected'],
    ['', 'one SELECT statement expected'],
  ])('refuses %j: a rule is one SELECT', (sql, message) => {
    expect(refused(sql).message).toBe(message);
  });
});
