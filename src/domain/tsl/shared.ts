/** Small helpers shared by the TSL document and value validators. Pure, no I/O. */
import type { TslIssue } from './types.ts';

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Sets an own enumerable key even when it is `__proto__`: device payloads are untrusted JSON, and a plain
 * assignment of `__proto__` would change the prototype instead of adding a key.
 */
export function putOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export const addIssue = (issues: TslIssue[], path: string[], message: string): void => {
  issues.push({ path, message });
};

/** TSL limits (alink-protocol.md §7, §4). */
export const TSL_LIMITS = {
  identifierMax: 50,
  nameMax: 30,
  featuresPerModule: 300,
  structMembers: 50,
  enumEntries: 100,
  textLength: 10240,
  arraySize: 512,
  paramsPerList: 100,
  propertiesPerPost: 200,
} as const;

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/** Letters, digits and underscore; the reference allows a leading digit (alink-protocol.md §4.5). */
export const IDENTIFIER_RE = /^[A-Za-z0-9_]{1,50}$/;

/** A decimal number as the reference writes specs: "0", "-40", "0.000001", "1e3". */
const NUMERIC_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export const isNumericString = (s: string): boolean => NUMERIC_RE.test(s);

export const isInt32 = (n: number): boolean => Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX;

/** Control characters (C0, DEL, C1) are not printable: refused in display names. */
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

/** Length in Unicode code points, so a CJK character or an emoji counts once. */
export const charLength = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/** Checks an identifier; returns it when valid. */
export function checkIdentifier(input: unknown, path: string[], issues: TslIssue[]): string | undefined {
  if (typeof input !== 'string' || !IDENTIFIER_RE.test(input)) {
    addIssue(issues, path, 'identifier must be 1 to 50 letters, digits or underscores');
    return undefined;
  }
  return input;
}

/**
 * Display names: 1..30 characters after trimming, any printable characters. The reference's exact charset is
 * UNCONFIRMED (alink-protocol.md §4.2), so ThingQL accepts any printable text rather than guess a narrower set.
 */
export function checkName(input: unknown, path: string[], issues: TslIssue[]): string | undefined {
  const name = typeof input === 'string' ? input.trim() : undefined;
  if (name === undefined || name === '' || charLength(name) > TSL_LIMITS.nameMax || CONTROL_RE.test(name)) {
    addIssue(issues, path, 'name must be 1 to 30 printable characters');
    return undefined;
  }
  return name;
}
