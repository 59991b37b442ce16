import type { IncomingMessage } from 'node:http';
import { type DocumentNode, getOperationAST, type GraphQLError } from 'graphql';
import {
  createGraphQLError,
  createYoga,
  maskError as defaultMaskError,
  type Plugin,
  type YogaServerInstance,
} from 'graphql-yoga';
import { CloseCode } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Principal } from '../services/access.ts';
import type { Services } from '../services/index.ts';
import type { GraphQLContext } from '../schema/context.ts';
import { OTA_MAX_FIRMWARE_BYTES } from '../services/ota/index.ts';
import type { Config } from '../config.ts';
import { maxDepthRule } from './depth-limit.ts';
import { serveGraphQLWs } from './ws-transport.ts';
import { createGraphiQLRenderer } from './graphiql.ts';
import {
  authenticateFirst,
  bearerToken,
  checkCost,
  costGuard,
  limitBodies,
  limitTokens,
  unauthenticated,
  type CostLimits,
} from './guards.ts';
import { CostBudget } from './rate-limit.ts';
import { createSharedSubscriber } from './shared-subscriptions.ts';
import { sseBatching } from './sse-batching.ts';
import { createSseRevocation } from './sse-revocation.ts';

/** Deepest selection nesting a query may have (graphql-api.md: QUERY_TOO_COMPLEX). */
export const MAX_QUERY_DEPTH = 12;
import { getSchema } from '../schema/index.ts';
import { toTopLevelError } from '../schema/errors.ts';

type ServerContext = { connectionParams?: Record<string, unknown>; principal?: Principal };

/**
 * Errors are made with yoga's `createGraphQLError` and recognised by their toStringTag, never with `instanceof
 * GraphQLError`: graphql 16 ships an ESM and a CJS build without an `exports` map, and a loader that prefers `module`
 * (vite, so vitest) gives this code the ESM class while yoga and its executor use the CJS one. An `instanceof` miss
 * masks an expected error as INTERNAL_SERVER_ERROR (and yoga's own maskError does that check).
 */
const isGraphQLError = (e: unknown): e is GraphQLError => Object.prototype.toString.call(e) === '[object GraphQLError]';
const isOriginalGraphQLError = (e: unknown): boolean =>
  isGraphQLError(e) && (e.originalError == null || isOriginalGraphQLError(e.originalError));

/**
 * Expected errors outside mutations get their stable code in one place; everything else stays masked
 * (architecture.md habits 7-8).
 */
function maskError(error: unknown, message: string, isDev?: boolean): Error {
  const gqlError = isGraphQLError(error) ? error : null;
  const original = gqlError ? gqlError.originalError : error;
  const expected = toTopLevelError(original);
  if (expected) {
    return createGraphQLError(expected.message, {
      ...(gqlError ? { nodes: gqlError.nodes, path: gqlError.path } : {}),
      extensions: expected.extensions,
    });
  }
  // GraphQL's own errors (validation, variables, UNAUTHENTICATED from the context factory) are not internals.
  if (isOriginalGraphQLError(error)) return error as GraphQLError;
  return defaultMaskError(error, message, isDev);
}

export interface GraphQLServer {
  yoga: YogaServerInstance<ServerContext, GraphQLContext>;
  /** Close every WebSocket (code 4401) and end every SSE stream authenticated with this API key (revocation). */
  closeKey(keyId: number): void;
  /**
   * A batch of events is about to fan out: hold every subscription socket's writes until the next turn of the event
   * loop, so each socket gets one write for the batch's frames instead of one per event.
   */
  corkFanout(): void;
  dispose(): Promise<void>;
}

export function createGraphQLServer(deps: {
  services: Services;
  logger: Logger;
  metrics: Metrics;
  wss: WebSocketServer;
  config: Config;
  subscriptionCacheBytes?: number;
}): GraphQLServer {
  const { services, logger, metrics, wss, config } = deps;
  const log = logger.child({ module: 'graphql' });
  const limits: CostLimits = {
    maxCost: config.GRAPHQL_MAX_COST,
    maxFields: config.GRAPHQL_MAX_FIELDS,
    maxAliases: config.GRAPHQL_MAX_ALIASES,
    budget: new CostBudget(config.GRAPHQL_RATE_LIMIT),
  };
  /** Keys revoked while this process runs: a socket or stream whose set-up raced the revocation is ended on registration. */
  const revokedKeys = new Set<number>();
  const sse = createSseRevocation((keyId) => revokedKeys.has(keyId));

  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema: getSchema(),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Body caps per content type (guards.ts limitBodies): JSON small, multipart firmware uploads (createFirmware) up to
    // OTA_MAX_FIRMWARE_BYTES.
    maxRequestBodySize: false,
    graphiql: { title: 'ThingQL', subscriptionsProtocol: 'WS' },
    // Offline GraphiQL (assets from the installed package, no CDN), token prefilled from the console's sign-in.
    renderGraphiQL: createGraphiQLRenderer(),
    maskedErrors: { maskError },
    logging: {
      debug: (...a: unknown[]) => log.debug(a.map(String).join(' ')),
      info: (...a: unknown[]) => log.info(a.map(String).join(' ')),
      warn: (...a: unknown[]) => log.warn(a.map(String).join(' ')),
      error: (...a: unknown[]) =>
        log.error(
          { err: a.find((x) => x instanceof Error) },
          a
            .filter((x) => !(x instanceof Error))
            .map(String)
            .join(' ') || 'graphql error',
        ),
    },
    context: async (init): Promise<GraphQLContext> => {
      // WebSocket: authenticated once in onConnect; HTTP and SSE: every request carries its bearer token, checked
      // before the document is read (guards.ts authenticateFirst).
      if (init.principal) return { principal: init.principal, services };
      const request = (init as { request?: Request }).request;
      const token = bearerToken(request?.headers.get('authorization'));
      if (!token) throw unauthenticated('missing bearer token: send Authorization: Bearer <token>');
      const principal = await services.apiKeys.authenticate(token);
      if (!principal) throw unauthenticated('invalid or revoked token');
      return { principal, services };
    },
    plugins: [
      authenticateFirst((token) => services.apiKeys.authenticate(token)),
      limitBodies(config.GRAPHQL_MAX_BODY_BYTES, OTA_MAX_FIRMWARE_BYTES + 1024 * 1024),
      limitTokens(config.GRAPHQL_MAX_TOKENS),
      <Plugin>{
        onValidate: ({ addValidationRule }) => addValidationRule(maxDepthRule(MAX_QUERY_DEPTH)),
      },
      costGuard(limits),
      sse.plugin,
      sseBatching(),
      <Plugin>{
        onExecute: ({ args }) => {
          const op = getOperationAST(args.document, args.operationName);
          const type = op?.operation ?? 'unknown';
          return {
            onExecuteDone: ({ result }) =>
              void metrics.graphqlOperations.inc({
                type,
                outcome: 'errors' in result && result.errors?.length ? 'error' : 'ok',
              }),
          };
        },
      },
    ],
  });

  const sharedSubscribe = createSharedSubscriber({
    maskError: (e, m) => maskError(e, m),
    ...(deps.subscriptionCacheBytes ? { maxBytes: deps.subscriptionCacheBytes } : {}),
  });
  const socketsByKey = new Map<number, Set<WebSocket>>();
  let fanoutCorked = false;

  const wsServer = serveGraphQLWs<{ principal?: Principal }>(
    {
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const token = bearerToken(params.authorization ?? params.Authorization);
        const principal = token ? await services.apiKeys.authenticate(token) : null;
        // A revocation that landed while authenticate() was reading is caught here; one after it finds the socket
        // registered below (same synchronous continuation: no hub event can run in between).
        if (!principal || (principal.keyId != null && revokedKeys.has(principal.keyId))) {
          ctx.extra.socket.close(CloseCode.Unauthorized, 'Unauthorized');
          return false;
        }
        ctx.extra.principal = principal;
        if (principal.keyId != null) {
          let set = socketsByKey.get(principal.keyId);
          if (!set) socketsByKey.set(principal.keyId, (set = new Set()));
          set.add(ctx.extra.socket);
        }
        metrics.wsSubscribers.inc();
        return true;
      },
      onClose: (ctx) => {
        const p = ctx.extra.principal;
        if (!p) return;
        metrics.wsSubscribers.dec();
        if (p.keyId != null) socketsByKey.get(p.keyId)?.delete(ctx.extra.socket);
      },
      execute: (args) => (args.rootValue as { execute: typeof import('graphql').execute }).execute(args),
      // Shared execution: one graphql execution per event per distinct subscription document (shared-subscriptions.ts).
      subscribe: (args) => sharedSubscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request as IncomingMessage,
          socket: ctx.extra.socket,
          params,
          principal: ctx.extra.principal,
        });
        let document: DocumentNode;
        try {
          document = parse(params.query);
        } catch (e) {
          return [isGraphQLError(e) ? e : createGraphQLError('invalid query')];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        // Queries and mutations over the socket run through yoga's execute (costGuard); subscriptions do not.
        if (getOperationAST(document, params.operationName)?.operation === 'subscription') {
          const refused = checkCost(
            limits,
            { schema, document, operationName: params.operationName, variableValues: params.variables },
            ctx.extra.principal,
          );
          if (refused) return [refused];
        }
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
    { logger: log },
  );

  return {
    yoga,
    corkFanout() {
      if (fanoutCorked || wss.clients.size === 0) return;
      fanoutCorked = true;
      const sockets: { cork(): void; uncork(): void }[] = [];
      for (const ws of wss.clients) {
        const raw = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
        if (raw) {
          raw.cork();
          sockets.push(raw);
        }
      }
      // Uncorked once the events handed on now have been sent: graphql-ws sends them in a chain of promise
      // continuations, and a tick queued from a microtask runs after the microtask queue has drained.
      queueMicrotask(() =>
        process.nextTick(() => {
          fanoutCorked = false;
          for (const s of sockets) s.uncork();
        }),
      );
    },
    closeKey(keyId) {
      revokedKeys.add(keyId);
      for (const socket of socketsByKey.get(keyId) ?? [])
        socket.close(CloseCode.Unauthorized, 'Unauthorized: API key revoked');
      socketsByKey.delete(keyId);
      sse.end(keyId);
    },
    dispose: async () => {
      await wsServer.dispose();
    },
  };
}
