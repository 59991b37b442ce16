/**
 * The baseline of the subscriber fan-out benchmark, in a child process of its own (see child.ts): a plain
 * graphql-yoga + graphql-ws server on one port (the stack.md recipe: `useServer` through `yoga.getEnveloped`) with
 * one in-memory topic (`createPubSub` from graphql-yoga) and a subscription field shaped like ThingQL's
 * `devicePropertyPosted(productKey)`. graphql-js executes the selection set once per subscriber per event, which is
 * what the baseline is about.
 *
 * Command `publish {productKey, from, count, items}`: publish `count` events with requestIds from..from+count-1.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLScalarType } from 'graphql';
import { createPubSub, createSchema, createYoga } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { serveCommands } from './child.ts';

interface Posted {
  cursor: string;
  iotId: string;
  productKey: string;
  deviceName: string;
  requestId: string;
  items: unknown;
  checkFailedData: unknown;
  receivedAt: Date;
}

// One listener per subscriber on one EventTarget: lift Node's leak warning (10 listeners).
const eventTarget = new EventTarget();
setMaxListeners(0, eventTarget);
const pubsub = createPubSub<{ devicePropertyPosted: [productKey: string, payload: Posted] }>({ eventTarget });

const JSONScalar = new GraphQLScalarType({ name: 'JSON', serialize: (v) => v, parseValue: (v) => v });
const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  serialize: (v) => (v instanceof Date ? v.toISOString() : String(v)),
  parseValue: (v) => new Date(String(v)),
});

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    scalar JSON
    scalar DateTime
    type DevicePropertyPostedEvent {
      cursor: String!
      iotId: String!
      productKey: String!
      deviceName: String!
      requestId: String!
      items: JSON!
      checkFailedData: JSON!
      receivedAt: DateTime!
    }
    type Query {
      ok: Boolean
    }
    type Subscription {
      devicePropertyPosted(productKey: String!): DevicePropertyPostedEvent!
    }
  `,
  resolvers: {
    JSON: JSONScalar,
    DateTime: DateTimeScalar,
    Query: { ok: () => true },
    Subscription: {
      devicePropertyPosted: {
        subscribe: (_r: unknown, a: { productKey: string }) => pubsub.subscribe('devicePropertyPosted', a.productKey),
        resolve: (p: Posted) => p,
      },
    },
  },
});

const yoga = createYoga({ schema, graphqlEndpoint: '/graphql', landingPage: false, graphiql: false, logging: false });
const server = http.createServer(yoga);
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url ?? '/', 'http://x').pathname !== '/graphql') return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
const disposable = useServer(
  {
    execute: (args) => (args.rootValue as { execute: typeof import('graphql').execute }).execute(args),
    subscribe: (args) => (args.rootValue as { subscribe: typeof import('graphql').subscribe }).subscribe(args),
    onSubscribe: async (ctx, _id, params) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx,
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        params,
      });
      const document = parse(params.query);
      const errors = validate(schema, document);
      if (errors.length > 0) return errors;
      return {
        schema,
        operationName: params.operationName,
        document,
        variableValues: params.variables,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
    },
  },
  wss,
);
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
let position = 0;

serveCommands(
  { httpPort: (server.address() as AddressInfo).port },
  {
    publish: (a: { productKey: string; from: number; count: number; items: unknown }) => {
      for (let k = a.from; k < a.from + a.count; k++) {
        position++;
        pubsub.publish('devicePropertyPosted', a.productKey, {
          cursor: Buffer.from(`p:${position}`).toString('base64url'),
          iotId: `iot-${k % 10}`,
          productKey: a.productKey,
          deviceName: `bench-${k % 10}`,
          requestId: String(k),
          items: a.items,
          checkFailedData: {},
          receivedAt: new Date(),
        });
      }
    },
  },
  async () => {
    for (const ws of wss.clients) ws.terminate();
    await disposable.dispose();
    await new Promise<void>((r) => server.close(() => r()));
  },
);
