/**
 * Random values that are valid for a TSL data type (alink-protocol.md §3.3 wire forms, §4.2 specs), so that the
 * simulator's posts pass the platform's validation in every mode (src/domain/tsl/value-check.ts). Pure: the random
 * source is a parameter, so tests can draw reproducibly.
 *
 * - int: an integer in [min, max] on the `step` grid from min (step is not checked by the platform, but a real device
 *   reports on it); float/double: min + k·step rounded to the step's decimals, clamped to [min, max].
 * - bool: 0 or 1; enum: one of the integer keys; date: a string of UTC ms (within the last 30 days).
 * - text: 1..min(length, 24) characters (code points, as the platform counts them), a few of them non-ASCII.
 * - struct: every member; array: 1..min(size, 8) elements.
 * Array items without specs (real exports omit them, fixture smart-lamp.json) get a moderate default range.
 */
import type { ArrayItemType, DataType, NumberSpecs, TslParam } from '../domain/tsl/types.ts';

/** A source of uniform numbers in [0, 1), like Math.random. */
export type Rng = () => number;

/** mulberry32: a small seeded generator for reproducible draws (tests, `--seed`). */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [lo, hi] (both integers, lo <= hi). */
export const randInt = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

const DEFAULT_RANGE: NumberSpecs = { min: '-1000', max: '1000', step: '0.001' };
const MAX_TEXT = 24;
const MAX_ARRAY = 8;
const DAY_MS = 86_400_000;
/** Mostly ASCII; a few BMP letters so that length is exercised in code points, not bytes. */
const ALPHABET = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_', 'é', 'µ', '温', 'ß'];

/** Digits after the decimal point of a numeric spec ("0.001" → 3, "1e-6" → 6, "5" → 0), at most 12. */
function decimalsOf(s: string | undefined): number {
  if (s === undefined) return 0;
  const m = /^[+-]?\d*(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s.trim());
  if (!m) return 0;
  const frac = m[1]?.length ?? 0;
  const exp = m[2] === undefined ? 0 : Number(m[2]);
  return Math.min(12, Math.max(0, frac - exp));
}

function randomInt(specs: NumberSpecs | undefined, rng: Rng): number {
  const lo = Math.ceil(Number(specs?.min ?? -1000));
  const hi = Math.floor(Number(specs?.max ?? 1000));
  const step = Math.max(1, Math.round(Number(specs?.step ?? 1)) || 1);
  const steps = Math.floor((hi - lo) / step);
  return lo + step * randInt(rng, 0, steps);
}

function randomReal(specs: NumberSpecs | undefined, rng: Rng): number {
  const s = specs ?? DEFAULT_RANGE;
  const lo = Number(s.min);
  const hi = Number(s.max);
  const step = Number(s.step);
  const decimals = Math.max(decimalsOf(s.min), decimalsOf(s.step ?? '0.0001'));
  let v: number;
  if (Number.isFinite(step) && step > 0) {
    // A tiny slack keeps the top of the grid when (hi - lo) / step lands just below an integer.
    const steps = Math.floor((hi - lo) / step + 1e-9);
    v = lo + randInt(rng, 0, steps) * step;
  } else {
    v = lo + rng() * (hi - lo);
  }
  v = Number(v.toFixed(decimals));
  return Math.min(hi, Math.max(lo, v));
}

function randomText(maxLength: number, rng: Rng): string {
  const n = randInt(rng, 1, Math.max(1, Math.min(maxLength, MAX_TEXT)));
  let out = '';
  for (let i = 0; i < n; i++) out += ALPHABET[Math.floor(rng() * ALPHABET.length)];
  return out;
}

/** A random value valid for `dataType` (a feature, struct member or array item type). */
export function randomValue(dataType: DataType | ArrayItemType, rng: Rng = Math.random): unknown {
  switch (dataType.type) {
    case 'int':
      return randomInt(dataType.specs, rng);
    case 'float':
    case 'double':
      return randomReal(dataType.specs, rng);
    case 'bool':
      return rng() < 0.5 ? 0 : 1;
    case 'enum': {
      const keys = Object.keys(dataType.specs);
      return Number(keys[Math.floor(rng() * keys.length)] ?? 0);
    }
    case 'text':
      return randomText(dataType.specs ? Number(dataType.specs.length) : 16, rng);
    case 'date':
      return String(Date.now() - Math.floor(rng() * 30 * DAY_MS));
    case 'struct': {
      const out: Record<string, unknown> = {};
      for (const m of dataType.specs) out[m.identifier] = randomValue(m.dataType, rng);
      return out;
    }
    case 'array': {
      const n = randInt(rng, 1, Math.max(1, Math.min(Number(dataType.specs.size), MAX_ARRAY)));
      return Array.from({ length: n }, () => randomValue(dataType.specs.item, rng));
    }
  }
}

/** Values for every parameter of a list (event outputData, service outputData), keyed by identifier. */
export function randomParams(params: Iterable<TslParam>, rng: Rng = Math.random): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of params) out[p.identifier] = randomValue(p.dataType, rng);
  return out;
}

/** `k` distinct elements of `items` in random order (all of them when k >= length). */
export function pickSome<T>(items: readonly T[], k: number, rng: Rng = Math.random): T[] {
  if (k >= items.length) return [...items];
  const copy = [...items];
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, k);
}
