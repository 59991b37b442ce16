import { createClient, type Client } from 'graphql-ws';

/** The API key lives in sessionStorage: this browser tab only, gone when it closes. GraphiQL reads the same key. */
export const TOKEN_KEY = 'thingql.token';

export const getToken = (): string | null => sessionStorage.getItem(TOKEN_KEY);

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export interface UserError {
  code: string;
  message: string;
  field?: string[] | null;
}

type Listener = () => void;
const authListeners = new Set<Listener>();
export const onAuthChange = (l: Listener): (() => void) => (authListeners.add(l), () => authListeners.delete(l));

let ws: Client | null = null;

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  void ws?.dispose();
  ws = null;
  for (const l of authListeners) l();
}

/** One GraphQL operation over HTTP (POST /graphql). Top-level errors throw; userErrors are the caller's. */
export async function gql<T = any>(query: string, variables?: Record<string, unknown>, token = getToken()): Promise<T> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  let body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = await res.json();
  } catch {
    throw new ApiError(`HTTP ${res.status}`, undefined);
  }
  if (body.errors?.length) {
    const e = body.errors[0]!;
    if (e.extensions?.code === 'UNAUTHENTICATED' && token === getToken()) setToken(null);
    throw new ApiError(e.message, e.extensions?.code);
  }
  return body.data as T;
}

/** The graphql-ws client (one socket for every subscription), authenticated in connection_init. */
function wsClient(): Client {
  if (ws) return ws;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  ws = createClient({
    url,
    lazy: true,
    // No silent re-subscribe with the original variables (it would replay from the first cursor): a closed socket
    // errors every subscription, and `subscribe` below resumes each after the last cursor it saw.
    retryAttempts: 0,
    connectionParams: () => ({ authorization: `Bearer ${getToken() ?? ''}` }),
  });
  return ws;
}

export interface SubscriptionHandlers<T> {
  next: (data: T) => void;
  error?: (message: string) => void;
}

/**
 * Subscribe over graphql-ws. Pass `after` (a cursor from `streamCursor` read with the page's query) so that nothing
 * committed between the query and the subscription is missed; on reconnects it resumes after the last event seen.
 */
export function subscribe<T = any>(
  query: string,
  variables: Record<string, unknown>,
  h: SubscriptionHandlers<T>,
): () => void {
  let after = variables.after as string | undefined;
  let stopped = false;
  let failures = 0;
  let dispose: () => void = () => {};
  const start = () => {
    dispose = wsClient().subscribe<T>(
      { query, variables: { ...variables, ...(after ? { after } : {}) } },
      {
        next: (r) => {
          if (r.errors?.length) return h.error?.(r.errors[0]!.message);
          const data = r.data as T;
          const ev = data && (Object.values(data as object)[0] as { cursor?: string } | undefined);
          if (ev?.cursor) after = ev.cursor;
          failures = 0;
          h.next(data);
        },
        error: (e) => {
          const code = e && typeof e === 'object' && 'code' in e ? (e as CloseEvent).code : undefined;
          if (code === 4401) {
            // The key was revoked or expired while the socket was open: back to sign-in.
            stopped = true;
            if (getToken()) setToken(null);
            return;
          }
          if (Array.isArray(e)) return h.error?.(String(e[0]?.message ?? 'subscription error')); // a GraphQL error: retrying will not help
          h.error?.(e instanceof Error ? e.message : 'connection lost, reconnecting');
          // A slow-subscriber close, a network drop or a server restart: resume after the last cursor (graphql-api.md),
          // waiting longer after each failure in a row.
          if (!stopped) setTimeout(() => !stopped && start(), Math.min(10_000, 500 * 2 ** failures++));
        },
        complete: () => {},
      },
    );
  };
  start();
  return () => {
    stopped = true;
    dispose();
  };
}

export const nodes = <T>(conn: { edges: { node: T }[] }): T[] => conn.edges.map((e) => e.node);
