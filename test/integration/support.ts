/**
 * Shared steps for the API suites (not a test file: vitest only collects *.test.ts). Everything goes through the
 * real HTTP endpoint; `dbSnapshot` reads the tables directly so "the database is unchanged" is checked at the source.
 */
import http from 'node:http';
import { asc } from 'drizzle-orm';
import type { Client } from 'graphql-ws';
import { expect } from 'vitest';
import { apiKeys, devices, events, platformState, products, productTopics } from '../../src/db/tables.ts';
import { encodeCursor } from '../../src/events/cursor.ts';
import { wsClient } from '../helpers/graphql-ws.ts';
import type { TestPlatform } from '../helpers/platform.ts';
export { lampTsl } from '../helpers/tsl-fixtures.ts';

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

export interface MutationResult {
  status: number;
  /** The payload object (null when the field errored, e.g. FORBIDDEN). */
  payload: any;
  errors?: any[];
}

/**
 * Runs `name(input: $input)` with `input` as a variable and selects `userErrors` plus `select`.
 * `token` undefined: the admin token; null: no Authorization header.
 */
export async function mutate(
  t: TestPlatform,
  name: string,
  input: Record<string, unknown>,
  select = '',
  token?: string | null,
): Promise<MutationResult> {
  const r = await t.gql(
    `mutation($input: ${cap(name)}Input!) { ${name}(input: $input) { ${select} userErrors { code message field } } }`,
    { input },
    token,
  );
  return { status: r.status, payload: r.data?.[name] ?? null, ...(r.errors ? { errors: r.errors } : {}) };
}

/** Asserts a mutation succeeded (no userErrors, no errors) and returns its payload. */
export async function mutateOk(...args: Parameters<typeof mutate>): Promise<any> {
  const name = args[1];
  const r = await mutate(...args);
  expect(r.errors, `${name} errors`).toBeUndefined();
  expect(r.payload.userErrors, `${name} userErrors`).toEqual([]);
  return r.payload;
}

export async function createProduct(
  t: TestPlatform,
  input: Record<string, unknown> = {},
): Promise<{ productKey: string; id: string }> {
  const p = await mutateOk(t, 'createProduct', { name: 'Test product', ...input }, 'product { productKey id }');
  return p.product;
}

export async function registerDevices(
  t: TestPlatform,
  productKey: string,
  deviceNames: string[],
  token?: string,
): Promise<{ deviceName: string; iotId: string; id: string; secret: string }[]> {
  const p = await mutateOk(
    t,
    'registerDevices',
    { productKey, deviceNames },
    'devices { device { deviceName iotId id } deviceSecret }',
    token,
  );
  return p.devices.map((d: any) => ({ ...d.device, secret: d.deviceSecret }));
}

export async function createApiKey(
  t: TestPlatform,
  role: 'ADMIN' | 'OPERATOR' | 'VIEWER',
  productKeys?: string[],
): Promise<{ id: string; token: string }> {
  const p = await mutateOk(
    t,
    'createApiKey',
    { name: `${role} key`, role, ...(productKeys ? { productKeys } : {}) },
    'apiKey { id } token',
  );
  return { id: p.apiKey.id, token: p.token };
}

/** Every row of every registry table and the event log, in key order: equal snapshots mean nothing changed. */
export async function dbSnapshot(t: TestPlatform): Promise<string> {
  const db = t.platform.database.db;
  const snap = {
    products: await db.select().from(products).orderBy(asc(products.id)),
    topics: await db.select().from(productTopics).orderBy(asc(productTopics.id)),
    devices: await db.select().from(devices).orderBy(asc(devices.id)),
    apiKeys: await db.select().from(apiKeys).orderBy(asc(apiKeys.id)),
    events: await db.select().from(events).orderBy(asc(events.position)),
    state: await db.select().from(platformState).orderBy(asc(platformState.key)),
  };
  return JSON.stringify(snap);
}

/** @deprecated Import `sleep` from test/helpers/wait.ts; kept for the suites that still import it from here. */
export { sleep } from '../helpers/wait.ts';

/** How a graphql-ws connection ended: resolves with the close code the server sent. */
export function closeCodeOf(client: Client): Promise<number> {
  return new Promise((resolve) => {
    client.on('closed', (event) => resolve((event as { code: number }).code));
  });
}

/** Connects a graphql-ws client eagerly (not lazy) so the handshake happens without a subscription. */
export function eagerWsClient(
  t: TestPlatform,
  token: string | null,
  connectionParams?: Record<string, unknown>,
): Client {
  return wsClient(t.wsUrl, token, {
    lazy: false,
    onNonLazyError: () => {},
    ...(connectionParams ? { connectionParams } : {}),
  });
}

/** Splits an SSE byte stream into frames (`event:` name and joined `data:` lines), across chunk boundaries. */
export function sseFrames(): (chunk: string) => { event: string | undefined; data: string }[] {
  let buffer = '';
  return (chunk) => {
    buffer += chunk;
    const out: { event: string | undefined; data: string }[] = [];
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const lines = buffer.slice(0, end).split('\n');
      buffer = buffer.slice(end + 2);
      const event = lines
        .find((l) => l.startsWith('event:'))
        ?.slice(6)
        .trim();
      const data = lines
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      out.push({ event, data });
    }
    return out;
  };
}

/**
 * A GraphQL-over-SSE client (yoga's built-in SSE: POST /graphql with Accept: text/event-stream) with the subscribe
 * shape of a graphql-ws Client, so `Collected` drives both transports. A refused request (e.g. 401) reaches the sink's
 * `error` as `{ status, body }`. node:http with a socket per stream (not fetch: undici opens a spare keep-alive
 * connection when a stream is aborted, which holds up the server's graceful close until its timeout).
 */
export function sseClient(t: TestPlatform, token: string | null = t.adminToken): Client {
  const open = new Set<http.ClientRequest>();
  const subscribe: Client['subscribe'] = (payload, sink) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (token) headers.authorization = `Bearer ${token}`;
    let closed = false;
    const req = http.request(t.graphqlUrl, { method: 'POST', headers, agent: false }, (res) => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200 || !res.headers['content-type']?.startsWith('text/event-stream')) {
        let body = '';
        res.on('data', (c: string) => (body += c));
        res.on('end', () => sink.error({ status: res.statusCode, body }));
        return;
      }
      const frames = sseFrames();
      res.on('data', (chunk: string) => {
        for (const { event, data } of frames(chunk)) {
          if (event === 'complete') {
            closed = true;
            sink.complete();
            return;
          }
          if (data) sink.next(JSON.parse(data));
        }
      });
      res.on('end', () => {
        if (!closed) sink.complete();
      });
    });
    req.on('error', (err) => {
      if (!closed) sink.error(err);
    });
    req.end(JSON.stringify(payload));
    open.add(req);
    return () => {
      closed = true;
      req.destroy();
      open.delete(req);
    };
  };
  return {
    subscribe,
    dispose: async () => {
      for (const r of open) r.destroy();
      open.clear();
    },
  } as unknown as Client;
}

export type Transport = 'graphql-ws' | 'SSE';
export const TRANSPORTS: Transport[] = ['graphql-ws', 'SSE'];

export function streamClient(transport: Transport, t: TestPlatform, token: string | null = t.adminToken): Client {
  return transport === 'SSE' ? sseClient(t, token) : wsClient(t.wsUrl, token);
}

/** The cursor of the newest event: subscribing `after` it sees every later event, however slow the handshake. */
export async function headCursor(t: TestPlatform): Promise<string> {
  return encodeCursor(await t.platform.log.headPosition());
}
