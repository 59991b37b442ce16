// The layer rules of docs/architecture.md §2-3, checked by `npm run deps:check` (CI) and test/unit/boundaries.test.ts.
// docs/contributing.md explains each layer; a rule's `comment` is what a violation prints.

/** Folders (or single files) of src/ as path patterns. */
const src = (...names) => `^src/(${names.join('|')})(/|$)`;
const ROOT_FILES = ['main\\.ts', 'server\\.ts'];
const ADAPTERS = ['broker', 'http', 'schema', 'openapi', 'amqp'];
/** Packages that speak a transport or a query language: the core (domain, services) uses none of them. */
const TRANSPORT_PACKAGES =
  '(^|/)node_modules/(aedes|aedes-[^/]+|mqtt|mqtt-packet|ws|graphql|graphql-yoga|graphql-ws|@graphql-yoga/[^/]+|@pothos/[^/]+|rhea)/';
/** Packages doing I/O or holding process state: domain/ is pure, so it uses none of them. */
const IO_PACKAGES =
  '(^|/)node_modules/(drizzle-orm|postgres|@electric-sql/[^/]+|ioredis|mqemitter-redis|amqplib|pino|pino-pretty|prom-client|dataloader)/';
const IO_CORE_MODULES =
  '^(node:)?(fs|fs/promises|net|tls|http|https|http2|dns|dgram|child_process|cluster|worker_threads|os|process)$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'domain/ is pure TypeScript without I/O: it imports no other layer of src/ (architecture.md §2).',
      severity: 'error',
      from: { path: src('domain') },
      to: {
        path: src(
          'services',
          'db',
          'events',
          'broker',
          'http',
          'schema',
          'openapi',
          'amqp',
          'cli',
          'startup',
          'sim',
          'config\\.ts',
          'logger\\.ts',
          'metrics\\.ts',
          'process-guards\\.ts',
          ...ROOT_FILES,
        ),
      },
    },
    {
      name: 'domain-does-no-io',
      comment: 'domain/ does no I/O: no database, Redis, AMQP, logging or metrics package, no network or file module.',
      severity: 'error',
      from: { path: src('domain') },
      to: { path: [IO_PACKAGES, IO_CORE_MODULES] },
    },
    {
      name: 'core-knows-no-transport',
      comment:
        'domain/ and services/ never import aedes, mqtt, ws, graphql, yoga, Pothos or rhea (architecture.md §3.2).',
      severity: 'error',
      from: { path: src('domain', 'services') },
      to: { path: TRANSPORT_PACKAGES },
    },
    {
      name: 'services-use-no-adapter',
      comment:
        'services/ are the use-cases: adapters call them, never the other way round (broker, GraphQL, HTTP, OpenAPI, AMQP, CLI).',
      severity: 'error',
      from: { path: src('services') },
      to: { path: src('broker', 'schema', 'http', 'openapi', 'amqp', 'cli', 'startup', 'sim', ...ROOT_FILES) },
    },
    {
      name: 'db-is-the-bottom',
      comment: 'db/ (client, schema, repositories) imports no layer above it: no services, events or adapters.',
      severity: 'error',
      from: { path: src('db') },
      to: {
        path: src(
          'services',
          'events',
          'broker',
          'schema',
          'http',
          'openapi',
          'amqp',
          'cli',
          'startup',
          'sim',
          ...ROOT_FILES,
        ),
      },
    },
    {
      name: 'repositories-use-db-and-domain',
      comment:
        'db/repositories/ are functions (db, params) -> rows: they import only db/ and domain/ (architecture.md §3.6).',
      severity: 'error',
      from: { path: '^src/db/repositories/' },
      to: { path: '^src/', pathNot: src('db', 'domain') },
    },
    {
      name: 'events-below-services',
      comment: 'events/ (log, fan-out, cursors) is used by services and adapters; it imports none of them.',
      severity: 'error',
      from: { path: src('events') },
      to: {
        path: src('services', 'broker', 'schema', 'http', 'openapi', 'amqp', 'cli', 'startup', 'sim', ...ROOT_FILES),
      },
    },
    {
      name: 'adapters-are-independent',
      comment:
        'An adapter (broker, http, schema, openapi, amqp) does not import another one; the composition root ' +
        '(server.ts, main.ts, startup/) wires them together.',
      severity: 'error',
      // http/graphql.ts mounts the GraphQL schema on yoga: the one adapter that composes another (rule below).
      from: { path: src(...ADAPTERS), pathNot: '^src/http/graphql\\.ts$' },
      to: { path: src(...ADAPTERS), pathNot: '^src/$1/' },
    },
    {
      name: 'graphql-route-mounts-only-the-schema',
      comment: 'http/graphql.ts mounts schema/ on yoga; it imports no other adapter.',
      severity: 'error',
      from: { path: '^src/http/graphql\\.ts$' },
      to: { path: src('broker', 'openapi', 'amqp') },
    },
    {
      name: 'simulator-is-a-client',
      comment:
        'sim/ is a device-side client: it speaks MQTT and GraphQL to a platform and shares only domain/ with it.',
      severity: 'error',
      from: { path: src('sim') },
      to: { path: '^src/', pathNot: src('sim', 'domain') },
    },
    {
      name: 'composition-root-is-not-imported',
      comment: 'main.ts, server.ts and startup/ construct everything; nothing else imports them.',
      severity: 'error',
      from: { path: '^src/', pathNot: src('startup', ...ROOT_FILES) },
      to: { path: src('startup', ...ROOT_FILES) },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles (type-only imports count: the parser does not tell them apart).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-not-to-test',
      comment: 'Production code never imports test/.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'src-not-to-dev-dependencies',
      comment: 'src/ runs from a production install: it imports no devDependency.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves to a file or an installed package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // dependency-cruiser 17 loads TypeScript 2-6 only; swc parses the tree (and sees `import type` as an import).
    parser: 'swc',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/db/migrations/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
