import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseOptions, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const config = createRequire(import.meta.url)(path.join(root, '.dependency-cruiser.cjs')) as {
  forbidden: NonNullable<ICruiseOptions['ruleSet']>['forbidden'];
  options: ICruiseOptions & { tsConfig?: unknown };
};

/** The project's rules and options, as `npm run deps:check` uses them, over `src` under `baseDir`. */
async function cruiseSrc(baseDir: string, extra: Partial<ICruiseOptions> = {}): Promise<ICruiseResult> {
  // Every import names its .ts file, so resolution needs no tsconfig (the CLI reads it for nothing more).
  const { tsConfig: _tsConfig, ...options } = config.options;
  const result = await cruise(['src'], {
    ...options,
    ...extra,
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden },
  });
  return result.output as ICruiseResult;
}

const brokenRules = (violations: readonly IViolation[]) =>
  violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^(\.\.\/)+node_modules\/([^/]+)\/.*$/, '$2')}`);

describe('layer boundaries (.dependency-cruiser.cjs)', () => {
  it('reports each broken rule of the fixture tree by name', async () => {
    const result = await cruiseSrc(path.join(root, 'test/fixtures/boundaries'));
    expect(brokenRules(result.summary.violations).sort()).toEqual([
      'adapters-are-independent: src/broker/publish.ts -> src/http/route.ts',
      'composition-root-is-not-imported: src/http/route.ts -> src/server.ts',
      'core-knows-no-transport: src/services/push.ts -> ws',
      'db-is-the-bottom: src/db/client.ts -> src/events/log.ts',
      'domain-does-no-io: src/domain/clock.ts -> fs',
      'domain-is-pure: src/domain/pricing.ts -> src/services/orders.ts',
      'events-below-services: src/events/log.ts -> src/services/orders.ts',
      'graphql-route-mounts-only-the-schema: src/http/graphql.ts -> src/amqp/server.ts',
      'no-circular: src/domain/ring-a.ts -> src/domain/ring-b.ts',
      'repositories-use-db-and-domain: src/db/repositories/things.ts -> src/config.ts',
      'services-use-no-adapter: src/services/orders.ts -> src/broker/publish.ts',
      'simulator-is-a-client: src/sim/device.ts -> src/services/orders.ts',
      'src-not-to-dev-dependencies: src/metrics.ts -> vitest',
      'src-not-to-test: src/logger.ts -> test/helper.ts',
    ]);
    expect(result.summary.error).toBe(result.summary.violations.length);
  });

  it('lets the GraphQL route mount the schema and the composition root import every layer', async () => {
    const result = await cruiseSrc(path.join(root, 'test/fixtures/boundaries'));
    const from = (file: string) => result.summary.violations.filter((v) => v.from === file).map((v) => v.to);
    expect(from('src/http/graphql.ts')).toEqual(['src/amqp/server.ts']);
    expect(from('src/server.ts')).toEqual([]);
  });

  it('finds no violation in src/', async () => {
    const result = await cruiseSrc(root);
    expect(brokenRules(result.summary.violations)).toEqual([]);
    expect(result.summary.error).toBe(0);
    // The real tree was cruised (not an empty folder): the composition root reaches every layer.
    expect(result.summary.totalCruised).toBeGreaterThan(200);
  }, 120_000);
});
