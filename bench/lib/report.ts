/**
 * The common result shape of the benchmarks written with these helpers, and the goals table
 * (Scenario | Baseline | Measured | Ratio | Goal | Met?). Each benchmark writes its JSON to `--json FILE` when given
 * (bench/run.ts does that), else to bench/results/<bench>-<timestamp>.json (gitignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Row {
  scenario: string;
  baseline: string;
  measured: string;
  ratio: string;
  goal: string;
  /** null: no goal to hold it to, or not measured */
  met: boolean | null;
}

export interface BenchOutput {
  bench: string;
  at: string;
  machine: Machine;
  options: Record<string, unknown>;
  rows: Row[];
  /** the figures behind the rows (spreads over rounds, per-round values) */
  figures: Record<string, unknown>;
  notes?: string[];
}

export interface Machine {
  cpus: number;
  cpuModel: string | undefined;
  node: string;
  totalMemMB: number;
  loadavg: number[];
}

export function machine(): Machine {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    node: process.version,
    totalMemMB: Math.round(os.totalmem() / 2 ** 20),
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export function writeResult(out: BenchOutput, jsonPath?: string): string {
  const file = jsonPath
    ? path.resolve(jsonPath)
    : path.join(RESULTS_DIR, `${out.bench}-${out.at.replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  return file;
}

export const metCell = (m: boolean | null): string => (m === null ? '-' : m ? 'yes' : 'no');

export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = ['| Scenario | Baseline | Measured | Ratio | Goal | Met? |', '|---|---|---|---|---|---|'];
  for (const r of rows)
    lines.push(`| ${[r.scenario, r.baseline, r.measured, r.ratio, r.goal, metCell(r.met)].map(esc).join(' | ')} |`);
  return lines.join('\n');
}

export const fmtRatio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a');

/** A line of progress on stderr (stdout carries the results). */
export const say = (line: string): void => void process.stderr.write(`${line}\n`);
