/** The TSL (thing model) fixtures of test/fixtures/, loaded once: copies of /work/shared/fixtures/tsl. */
import { readFileSync } from 'node:fs';

export type TslFixture = 'smart-lamp' | 'env-sensor';

/** A fresh parse of test/fixtures/<name>.json (callers may change it). */
export const loadTsl = (name: TslFixture): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

export const lampTsl = loadTsl('smart-lamp');
export const sensorTsl = loadTsl('env-sensor');
