/**
 * The graphql-ws transport (http/ws-transport.ts) sends without waiting for each write, but only while the socket has
 * little buffered: a subscriber that stops reading holds its stream back (so the hub's bounded queue, not the socket,
 * decides when it is too slow), and gets everything once it reads again. A real server and client over a real socket.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema } from 'graphql';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { serveGraphQLWs } from '../../src/http/ws-transport.ts';
import { createLogger } from '../../src/logger.ts';
import { waitFor } from '../helpers/wait.ts';

const RESULTS = 10_000;
const ITEM = 'x'.repeat(4096);

describe('graphql-ws transport backpressure', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('stops taking results from a stream whose subscriber does not read, and delivers them all once it does', async () => {
    let produced = 0;
    const schema = buildSchema('type Query { ok: Boolean } type Subscription { tick: String }');
    const roots = {
      tick: async function* () {
        for (let i = 0; i < RESULTS; i++) {
          produced++;
          yield { tick: `${i}:${ITEM}` };
        }
      },
    };
    const server = http.createServer();
    const wss = new WebSocketServer({ server, path: '/graphql' });
    const ws = serveGraphQLWs({ schema, roots: { subscription: roots } }, wss, {
      logger: createLogger('silent'),
      keepAliveMs: 0,
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise((r) => server.close(() => r(undefined))));
    cleanup.push(() => ws.dispose());

    const port = (server.address() as AddressInfo).port;
    const client = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
    cleanup.push(() => client.terminate());
    let received = 0;
    let completed = false;
    client.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string };
      if (m.type === 'connection_ack')
        client.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { tick }' } }));
      if (m.type === 'next') received++;
      if (m.type === 'complete') completed = true;
    });
    await new Promise<void>((r) => client.once('open', () => r()));
    client.send(JSON.stringify({ type: 'connection_init' }));
    await waitFor(() => received > 0);

    // The subscriber stops reading: the kernel's buffers fill, then ours up to the mark, then the stream waits.
    const raw = (client as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    let last = -1;
    await waitFor(
      async () => {
        const now = produced;
        const settled = now === last;
        last = now;
        await new Promise((r) => setTimeout(r, 200));
        return settled;
      },
      { timeout: 20_000 },
    );
    // 40 MB were to be sent; what was taken is what the socket buffers hold (a few MB), not the whole stream.
    expect(produced).toBeLessThan(RESULTS / 2);

    raw.resume();
    await waitFor(() => completed, { timeout: 30_000 });
    expect(received).toBe(RESULTS);
    expect(produced).toBe(RESULTS);
  }, 60_000);
});
