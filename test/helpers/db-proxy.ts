/**
 * A TCP proxy between the platform and PostgreSQL that a test can cut and restore: a database outage as the
 * platform sees it.
 * - `refuse`: every connection is reset and new ones are refused (the server went down);
 * - `blackhole`: the sockets stay open but nothing is forwarded, and new connections are held unanswered (a network
 *   partition: queries hang rather than fail);
 * - `unreachable`: every connection is reset and new ones are held unanswered (the host is gone: connects time out).
 */
export type OutageMode = 'refuse' | 'blackhole' | 'unreachable';

import net from 'node:net';

export interface DbProxy {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  cut(mode?: OutageMode): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startDbProxy(upstream: { host: string; port: number }, port = 0): Promise<DbProxy> {
  const pairs = new Set<{ client: net.Socket; server: net.Socket }>();
  let mode: 'open' | OutageMode = 'open';
  let accepted = 0;
  const held = new Set<net.Socket>();

  const onConnection = (client: net.Socket) => {
    accepted++;
    client.on('error', () => {});
    if (mode === 'blackhole' || mode === 'unreachable') {
      held.add(client);
      client.once('close', () => held.delete(client));
      return;
    }
    const server = net.connect(upstream.port, upstream.host);
    server.on('error', () => client.destroy());
    client.on('error', () => server.destroy());
    const pair = { client, server };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.once('close', drop);
    server.once('close', drop);
    client.pipe(server);
    server.pipe(client);
  };

  let listener = net.createServer(onConnection);
  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(p, '127.0.0.1', () => resolve((listener.address() as net.AddressInfo).port));
    });
  const boundPort = await listen(port);

  return {
    port: boundPort,
    accepted: () => accepted,
    async cut(how = 'refuse') {
      mode = how;
      if (how === 'refuse') {
        // close() stops accepting at once but calls back only when every connection has ended: reset them first.
        const closed = new Promise<void>((r) => listener.close(() => r()));
        for (const p of pairs) {
          // A reset, as when the server's host goes away, rather than a polite FIN.
          p.client.resetAndDestroy();
          p.server.destroy();
        }
        pairs.clear();
        await closed;
      } else if (how === 'unreachable') {
        for (const p of pairs) {
          p.client.resetAndDestroy();
          p.server.destroy();
        }
        pairs.clear();
      } else {
        for (const p of pairs) {
          p.client.unpipe(p.server);
          p.server.unpipe(p.client);
          p.client.pause();
          p.server.pause();
        }
      }
    },
    async restore() {
      if (mode === 'refuse') {
        listener = net.createServer(onConnection);
        await listen(boundPort);
      } else {
        // Sockets that saw a partition are broken for good (half-sent protocol messages): reset them, as a
        // TCP keepalive or a statement timeout eventually would.
        for (const p of pairs) {
          p.client.resetAndDestroy();
          p.server.destroy();
        }
        pairs.clear();
        for (const s of held) s.resetAndDestroy();
        held.clear();
      }
      mode = 'open';
    },
    async close() {
      mode = 'refuse';
      const closed = new Promise<void>((r) => (listener.listening ? listener.close(() => r()) : r()));
      for (const p of pairs) {
        p.client.destroy();
        p.server.destroy();
      }
      for (const s of held) s.destroy();
      await closed;
    },
  };
}
