import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const require = createRequire(import.meta.url);

/**
 * The files that take longest (20-50 s each on an idle 2-core machine), longest first. Workers take files in order,
 * so starting these first keeps one of them from starting last and running on alone while the other workers idle.
 * Without a results cache (CI's fresh clone) vitest would order by file size, which puts most of these late.
 */
const SLOW_FIRST = [
  'test/integration/db-outage.test.ts',
  'test/e2e/crash-durability.test.ts',
  'test/e2e/ota.test.ts',
  'test/e2e/first-hour.test.ts',
  'test/e2e/restart.test.ts',
  'test/e2e/console-browser.test.ts',
  'test/e2e/presence-races.test.ts',
  'test/e2e/amqp-restart.test.ts',
  'test/e2e/thing-data-validation.test.ts',
  'test/integration/api-errors.test.ts',
  'test/integration/auth.test.ts',
  'test/unit/cli-help.test.ts',
];

class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = SLOW_FIRST.findIndex((s) => f.moduleId.endsWith(`/${s}`));
      return i === -1 ? SLOW_FIRST.length : i;
    };
    return sorted
      .map((f, i) => ({ f, i, r: rank(f) }))
      .sort((a, b) => a.r - b.r || a.i - b.i)
      .map((x) => x.f);
  }
}

export default defineConfig({
  resolve: {
    // graphql 16 has no "exports" map: Node (and so yoga, Pothos, graphql-ws) loads its CommonJS build, while vite
    // would hand our sources the ESM build: two realms, and "Cannot use GraphQLSchema from another module". One build.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    hookTimeout: 60_000,
    // Platforms the tests spawn (`thingql serve`) must not each start a console build (docs/console.md).
    env: { CONSOLE_BUILD_ON_START: 'false' },
    testTimeout: 30_000,
    pool: 'forks',
    // One module graph per worker, reused by every file it runs: each file used to import the whole platform again
    // (~2 s of transform and import per file, about 200 s of a 470 s run). What the files share is safe to share:
    // the platform keeps no module-level state between instances (metrics have a registry per platform, the GraphQL
    // schema is built once and never changed), no test mutates process.env, and spies are restored by their files.
    // A file that leaves something running (a platform it did not close) now affects the next file in its worker:
    // `npm run test:isolated` runs each file in a process of its own, as before, to tell.
    isolate: false,
    // Three workers on two cores. Once, on 9 compute-heavy suites, 2/3/4 workers took 65/74/88 s of wall time; the slow
    // suites now mostly wait (child processes starting, outages, timeouts): on the 10 slowest, 2/3 workers took
    // 129/111 s (same machine, same load). Each worker imports the platform once (about 4 s).
    maxWorkers: 3,
    sequence: { sequencer: SlowFirstSequencer },
  },
});
