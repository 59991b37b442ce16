/**
 * A local HTTP endpoint (webhook target) recording every request it receives: rule deliveries, chat-bot webhooks.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HookRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: any;
  /** The Idempotency-Key header the delivery carried. */
  key: string;
  /** The HTTP status it was answered with ('hang': never answered). */
  status: number | 'hang';
}

export type Responder = (req: Omit<HookRequest, 'status'>) => number | 'hang';

/**
 * A local HTTP endpoint recording every request it receives. `respond` decides each answer (a status, or 'hang' for
 * one that never answers); `down()` closes it (new connections are refused) and `up()` listens again on the same port.
 */
export async function hookServer(respond: Responder = () => 200) {
  const requests: HookRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  let responder = respond;
  let server: http.Server | null = null;
  let port = 0;

  const handler: http.RequestListener = (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        json = null;
      }
      const r = {
        path: req.url ?? '/',
        headers: req.headers,
        body,
        json,
        key: String(req.headers['idempotency-key'] ?? ''),
      };
      const status = responder(r);
      requests.push({ ...r, status });
      if (status !== 'hang') res.writeHead(status).end();
    });
  };

  async function up(): Promise<void> {
    const s = http.createServer(handler);
    s.on('connection', (sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  }

  async function down(): Promise<void> {
    const s = server;
    server = null;
    if (!s) return;
    const closed = new Promise<void>((r) => s.close(() => r()));
    // Keep-alive and hanging connections too: from now on the port refuses connections.
    for (const sock of sockets) sock.destroy();
    s.closeAllConnections();
    await closed;
  }

  await up();
  return {
    url: (p = '/hook') => `http://127.0.0.1:${port}${p}`,
    get port() {
      return port;
    },
    requests,
    /** Requests answered 2xx, in arrival order. */
    accepted: () => requests.filter((r) => typeof r.status === 'number' && r.status >= 200 && r.status < 300),
    setResponder: (r: Responder) => void (responder = r),
    up,
    down,
  };
}

export type Hook = Awaited<ReturnType<typeof hookServer>>;
