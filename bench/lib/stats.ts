/**
 * Figures for benchmarks: percentiles of latency samples, and the spread (median, min, max) of a figure over rounds.
 * Every figure a benchmark reports is a spread over at least 3 rounds; ratios are taken between medians.
 */

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** how many rounds */
  n: number;
}

export const round = (x: number, digits = 2): number =>
  Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function spread(xs: readonly number[], digits = 2): Spread {
  const ok = xs.filter((x) => Number.isFinite(x));
  if (ok.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  return {
    median: round(median(ok), digits),
    min: round(Math.min(...ok), digits),
    max: round(Math.max(...ok), digits),
    n: ok.length,
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface Latency {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

export function latency(samples: readonly number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  return {
    samples: s.length,
    p50: round(percentile(s, 50), 3),
    p99: round(percentile(s, 99), 3),
    max: round(s.at(-1) ?? NaN, 3),
  };
}

/** "12,345 (11,900-12,800)": a spread as one table cell. */
export function fmtSpread(s: Spread, unit = '', digits?: number): string {
  if (!Number.isFinite(s.median)) return 'n/a';
  const d = digits ?? (Math.abs(s.median) >= 100 ? 0 : Math.abs(s.median) >= 10 ? 1 : 2);
  const f = (x: number) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  return `${f(s.median)}${unit} (${f(s.min)}-${f(s.max)})`;
}

/** Ratio of two spreads' medians. */
export const ratioOf = (measured: Spread, baseline: Spread): number => round(measured.median / baseline.median, 2);

/** CPU time of this process since `from` (process.cpuUsage()), in microseconds. */
export function cpuSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return d.user + d.system;
}
