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
    maxWorkers: 2,
  },
});
