import { parse, type DocumentNode, type GraphQLError, type GraphQLSchema } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { Principal } from '../services/access.ts';
import { queryCost } from './query-cost.ts';
import type { CostBudget } from './rate-limit.ts';

/**
 * Request guards, in the order a request meets them: the bearer token before anything
 * is read or parsed, the body size, the token count while parsing, then (variables known) the cost, field and alias
 * limits and the key's budget before execution.
 */

export const unauthenticated = (why: string) =>
  createGraphQLError(why, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
  });

export function bearerToken(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return m ? m[1]! : null;
}

/**
 * HTTP and SSE: the caller is authenticated from its Authorization header before the body is read or the document
 * parsed and validated; an anonymous or revoked caller costs one hash and (at most) one indexed read.
 */
export function authenticateFirst(authenticate: (token: string) => Promise<Principal | null>): Plugin {
  return {
    async onRequestParse({ request, serverContext }) {
      const ctx = serverContext as { principal?: Principal };
      if (ctx.principal) return;
      const token = bearerToken(request.headers.get('authorization'));
      if (!token) throw unauthenticated('missing bearer token: send Authorization: Bearer <token>');
      const principal = await authenticate(token);
      if (!principal) throw unauthenticated('invalid or revoked token');
      ctx.principal = principal;
    },
  };
}

const tooLarge = (limit: number) =>
  createGraphQLError(`request body larger than ${limit} bytes`, {
    extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } },
  });

/**
 * Body caps: `jsonMax` for JSON, form and GraphQL-string bodies, `multipartMax` for multipart (firmware uploads).
 * Content-Length is checked first, and is then all the check there is: Node's HTTP parser (llhttp) hands over exactly
 * Content-Length bytes of body and refuses a request that also says `Transfer-Encoding`, so such a body cannot grow
 * past its header. Only a chunked body (no Content-Length) is counted as it streams and cut at the cap: the counting
 * stream costs a pipeline, an AbortController and its DOMException per request, a large share of a small mutation's
 * HTTP cost (docs/performance.md, RRPC).
 */
export function limitBodies(jsonMax: number, multipartMax: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const type = request.headers.get('content-type') ?? '';
      const limit = /^multipart\/form-data/i.test(type) ? multipartMax : jsonMax;
      const length = request.headers.get('content-length');
      if (length != null) {
        if (!/^\d+$/.test(length))
          throw createGraphQLError('Content-Length header is invalid.', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        if (Number(length) > limit) throw tooLarge(limit);
        return;
      }
      // GET: the query string is the body (Node's own header limit, 16 KB, bounds the URL).
      if (!requestParser || !request.body) return;
      const parser = requestParser;
      setRequestParser((req) => {
        let read = 0;
        // As yoga's own limit: a native body needs the native TransformStream, a ponyfilled one the ponyfill's.
        const Transform = (
          req.body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream
        ) as typeof TransformStream;
        const body = req.body!.pipeThrough(
          new Transform<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              read += chunk.byteLength;
              if (read > limit) controller.error(tooLarge(limit));
              else controller.enqueue(chunk);
            },
          }),
        );
        return parser(
          new fetchAPI.Request(req.url, {
            method: req.method,
            headers: req.headers,
            signal: req.signal,
            body,
            duplex: 'half',
          } as RequestInit),
        );
      });
    },
  };
}

/** Parsing stops at `maxTokens` lexical tokens (graphql-js `maxTokens`): a huge document costs bounded time. */
export function limitTokens(maxTokens: number): Plugin {
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => parse(source, { ...options, maxTokens }));
    },
  };
}

export interface CostLimits {
  maxCost: number;
  maxFields: number;
  maxAliases: number;
  budget: CostBudget;
}

const tooComplex = (message: string) =>
  createGraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } } });

/** The cost, field and alias limits, then the caller's budget; null when the operation may run. */
export function checkCost(
  limits: CostLimits,
  args: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operationName?: string | null | undefined;
    variableValues?: Record<string, unknown> | null | undefined;
  },
  principal: Principal | undefined,
): GraphQLError | null {
  const c = queryCost(args.schema, args.document, args.operationName, args.variableValues);
  if (!c) return null;
  if (c.fields > limits.maxFields)
    return tooComplex(
      `the operation selects ${c.fields} fields (fragments expanded); at most ${limits.maxFields} are allowed`,
    );
  if (c.aliases > limits.maxAliases)
    return tooComplex(`the operation has ${c.aliases} aliases; at most ${limits.maxAliases} are allowed`);
  if (c.cost > limits.maxCost) {
    return tooComplex(
      `the operation would cost about ${c.cost} resolver calls (list sizes multiply); at most ${limits.maxCost} are allowed: ask for smaller pages`,
    );
  }
  const key = principal?.keyId != null ? `key:${principal.keyId}` : principal ? 'admin' : 'anonymous';
  const waitMs = limits.budget.take(key, Math.max(1, c.cost));
  if (waitMs > 0) {
    const seconds = Math.ceil(waitMs / 1000);
    return createGraphQLError(`this key has used its query budget; retry in ${seconds} s`, {
      extensions: {
        code: 'RATE_LIMITED',
        retryAfterSeconds: seconds,
        http: { status: 429, headers: { 'Retry-After': String(seconds) } },
      },
    });
  }
  return null;
}

/** checkCost before every HTTP/SSE execution and subscription (graphql-ws subscriptions call it themselves). */
export function costGuard(limits: CostLimits): Plugin {
  const principalOf = (ctx: unknown) => (ctx as { principal?: Principal } | undefined)?.principal;
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const e = checkCost(limits, args, principalOf(args.contextValue));
      if (e) setResultAndStopExecution({ errors: [e] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const e = checkCost(limits, args, principalOf(args.contextValue));
      if (e) setResultAndStopExecution({ errors: [e] });
    },
  };
}
