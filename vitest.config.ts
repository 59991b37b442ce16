import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

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
    isolate: false,
    // Most tests wait on sockets, timers and child processes rather than compute: more files at once than cores.
    maxWorkers: 3,
  },
});
