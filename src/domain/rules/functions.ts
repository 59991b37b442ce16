import { createHash, getHashes, randomUUID } from 'node:crypto';

/** What a rule expression sees of one message (alink-protocol.md §5.5, §6). */
export interface RuleContext {
  topic: string;
  /** The message body: parsed JSON when it is JSON, otherwise null (use payload()). */
  json: unknown;
  raw: Buffer;
  productKey: string | null;
  deviceName: string | null;
  messageId: string;
  /** ms since the epoch */
  timestamp: number;
  /** Device tags (attribute()). */
  attributes?: Record<string, string>;
}

type Fn = { min: number; max: number; call: (ctx: RuleContext, args: unknown[]) => unknown };

/** Longest string a rule function builds (concat, replace), in UTF-16 code units: 1 Mi. */
export const RULE_MAX_STRING = 1024 * 1024;

/** An expression that cannot be evaluated for this message (the rule skips it; testRule says RULE_EVALUATION_FAILED). */
export class RuleEvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleEvaluationError';
  }
}

function bounded(length: number, fn: string): void {
  if (length > RULE_MAX_STRING)
    throw new RuleEvaluationError(
      `${fn}() would build a string of ${length} characters; at most ${RULE_MAX_STRING} are allowed`,
    );
}

function replaceAll(s: string, a: string, b: string): string {
  const parts = s.split(a);
  bounded(s.length + (parts.length - 1) * (b.length - a.length), 'replace');
  return parts.join(b);
}

const num = (v: unknown): number | null => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
};
const str = (v: unknown): string | null => (v == null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v));
const math = (f: (x: number) => number): Fn => ({
  min: 1,
  max: 1,
  call: (_c, [x]) => (num(x) == null ? null : f(num(x)!)),
});

/** `yyyy-MM-dd HH:mm:ss.SSS` style formats of the reference's timestamp(format). */
export function formatTime(ms: number, format: string, offsetMinutes: number): string {
  const d = new Date(ms + offsetMinutes * 60_000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const parts: Record<string, string> = {
    yyyy: String(d.getUTCFullYear()),
    MM: pad(d.getUTCMonth() + 1),
    dd: pad(d.getUTCDate()),
    HH: pad(d.getUTCHours()),
    mm: pad(d.getUTCMinutes()),
    ss: pad(d.getUTCSeconds()),
    SSS: pad(d.getUTCMilliseconds(), 3),
  };
  return format.replace(/yyyy|SSS|MM|dd|HH|mm|ss/g, (t) => parts[t]!);
}

const CRYPTO_ALGORITHMS = ['md2', 'md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'].filter((a) =>
  getHashes().includes(a),
);

/**
 * The reference's rule SQL functions (alink-protocol.md §5.5 "SQL functions"). Names are case-insensitive. Any
 * function not listed here is refused when the rule is created.
 */
export const FUNCTIONS: Record<string, Fn> = {
  devicename: { min: 0, max: 0, call: (c) => c.deviceName },
  productkey: { min: 0, max: 0, call: (c) => c.productKey },
  messageid: { min: 0, max: 0, call: (c) => c.messageId },
  topic: {
    min: 0,
    max: 1,
    call: (c, [n]) => {
      if (n === undefined) return c.topic;
      const i = num(n);
      const levels = c.topic.split('/').slice(1);
      return i != null && i >= 1 && i <= levels.length ? levels[i - 1] : null;
    },
  },
  // timestamp(): ms; timestamp(format): Beijing time (UTC+8) as the reference; timestamp_utc(format): UTC.
  timestamp: { min: 0, max: 1, call: (c, [f]) => (f == null ? c.timestamp : formatTime(c.timestamp, String(f), 480)) },
  timestamp_utc: {
    min: 0,
    max: 1,
    call: (c, [f]) => (f == null ? c.timestamp : formatTime(c.timestamp, String(f), 0)),
  },
  newuuid: { min: 0, max: 0, call: () => randomUUID() },
  payload: {
    min: 0,
    max: 1,
    call: (c, [enc]) =>
      String(enc ?? 'utf8').toLowerCase() === 'base64' ? c.raw.toString('base64') : c.raw.toString('utf8'),
  },
  attribute: { min: 1, max: 1, call: (c, [k]) => c.attributes?.[String(k)] ?? null },
  concat: {
    min: 1,
    max: 64,
    call: (_c, args) => {
      if (args.some((a) => a == null)) return null;
      const parts = args.map((a) => str(a)!);
      bounded(
        parts.reduce((n, p) => n + p.length, 0),
        'concat',
      );
      return parts.join('');
    },
  },
  lower: { min: 1, max: 1, call: (_c, [s]) => str(s)?.toLowerCase() ?? null },
  upper: { min: 1, max: 1, call: (_c, [s]) => str(s)?.toUpperCase() ?? null },
  endswith: { min: 2, max: 2, call: (_c, [s, t]) => (s == null || t == null ? null : str(s)!.endsWith(str(t)!)) },
  startswith: { min: 2, max: 2, call: (_c, [s, t]) => (s == null || t == null ? null : str(s)!.startsWith(str(t)!)) },
  replace: {
    min: 3,
    max: 3,
    call: (_c, [s, a, b]) => (s == null ? null : replaceAll(str(s)!, str(a) ?? '', str(b) ?? '')),
  },
  substring: {
    min: 2,
    max: 3,
    call: (_c, [s, from, to]) =>
      s == null ? null : str(s)!.substring(num(from) ?? 0, to === undefined ? undefined : (num(to) ?? undefined)),
  },
  to_base64: {
    min: 1,
    max: 1,
    call: (_c, [s]) => (s == null ? null : Buffer.from(str(s)!, 'utf8').toString('base64')),
  },
  crypto: {
    min: 2,
    max: 2,
    call: (_c, [s, alg]) => {
      const a = String(alg ?? '').toLowerCase();
      // md2 is in the reference's list but not in OpenSSL 3 (createHash would throw and fail the whole rule).
      if (s == null || !CRYPTO_ALGORITHMS.includes(a)) return null;
      return createHash(a).update(str(s)!).digest('hex');
    },
  },
  abs: math(Math.abs),
  floor: math(Math.floor),
  ceil: math(Math.ceil),
  round: math(Math.round),
  asin: math(Math.asin),
  cos: math(Math.cos),
  cosh: math(Math.cosh),
  sin: math(Math.sin),
  sinh: math(Math.sinh),
  tan: math(Math.tan),
  tanh: math(Math.tanh),
  exp: math(Math.exp),
  log: {
    min: 1,
    max: 2,
    call: (_c, [a, b]) => {
      if (b === undefined) return num(a) == null ? null : Math.log(num(a)!);
      return num(a) == null || num(b) == null ? null : Math.log(num(b)!) / Math.log(num(a)!);
    },
  },
  power: { min: 2, max: 2, call: (_c, [a, b]) => (num(a) == null || num(b) == null ? null : num(a)! ** num(b)!) },
  mod: { min: 2, max: 2, call: (_c, [a, b]) => (num(a) == null || !num(b) ? null : num(a)! % num(b)!) },
  rand: { min: 0, max: 0, call: () => Math.random() },
  // thingPropertyFlatMap('Temperature', 'Humidity'): the values of those properties of a property post
  // (`items.Temperature.value`) as {Temperature, Humidity}; without arguments, every posted property. Unaliased in a
  // SELECT its properties become output fields (sql.ts).
  thingpropertyflatmap: {
    min: 0,
    max: 64,
    call: (c, ids) => {
      const items = (c.json as { items?: unknown } | null)?.items;
      if (!items || typeof items !== 'object' || Array.isArray(items)) return null;
      const posted = items as Record<string, { value?: unknown } | null>;
      const keys = ids.length > 0 ? ids.map((k) => String(k)) : Object.keys(posted);
      return Object.fromEntries(
        keys.map((k) => [k, (Object.hasOwn(posted, k) ? posted[k]?.value : undefined) ?? null]),
      );
    },
  },
  nanvl: { min: 2, max: 2, call: (_c, [v, d]) => (num(v) == null || Number.isNaN(num(v)) ? d : v) },
};

export { num, str };
