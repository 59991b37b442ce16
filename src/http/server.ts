import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { OpenApiRoute } from './openapi-route.ts';

export interface HttpDeps {
  logger: Logger;
  metrics: Metrics;
  /** yoga's Node request listener for /graphql. */
  graphql: http.RequestListener;
  /** graphql-ws server (noServer) for upgrades on /graphql. */
  graphqlWss: WebSocketServer;
  /** aedes over WebSocket (noServer) for upgrades on /mqtt; absent until the broker is wired. */
  mqttWss?: WebSocketServer;
  /** Extra routes (e.g. POST /auth/register/device); return true when handled. */
  routes?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  /** The web console (GET/HEAD of `/`, its assets and client-side routes); returns true when handled. */
  console?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  ready: () => Promise<boolean>;
  /** Alibaba IoT OpenAPI on `/` (cloud-api.md §1): claims a request by `x-acs-action` / `Action`, else falls through. */
  openapi?: OpenApiRoute;
}

/**
 * One HTTP port for GraphQL (HTTP, SSE, WebSocket), MQTT over WebSocket at /mqtt, health and metrics. Two WebSocket
 * servers share the port, so upgrades are routed by path (stack.md "graphql-ws v6 on the same port").
 */
export function createHttpServer(deps: HttpDeps): http.Server {
  const handle = (req: http.IncomingMessage, res: http.ServerResponse, openApiChecked = false): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (path === '/readyz') {
      deps
        .ready()
        .then((ok) =>
          res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n'),
        )
        .catch(() => res.writeHead(503).end('not ready\n'));
      return;
    }
    if (path === '/metrics') {
      deps.metrics.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': deps.metrics.registry.contentType }).end(body))
        .catch((err: unknown) => {
          deps.logger.error({ err }, 'metrics failed');
          res.writeHead(500).end();
        });
      return;
    }
    if (path === '/' && !openApiChecked && deps.openapi?.(req, res, () => handle(req, res, true))) return;
    if (deps.console?.(req, res)) return;
    if (path === '/') return void res.writeHead(302, { location: '/graphql' }).end();
    if (deps.routes?.(req, res)) return;
    deps.graphql(req, res);
  };
  const server = http.createServer((req, res) => handle(req, res));
  // An idle keep-alive connection is kept 65 s (Node's default is 5 s): longer than HTTP clients and load balancers
  // keep theirs (undici 4 s, browsers ~60 s, cloud load balancers 60 s), so a client never sends a request on a
  // connection the server is just closing (ECONNRESET on a POST, which clients do not retry). Headers must still
  // arrive within a second more than that.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  server.on('upgrade', (req, socket: Duplex, head) => {
    const path = (req.url ?? '/').split('?')[0];
    const target = path === '/graphql' ? deps.graphqlWss : path === '/mqtt' ? deps.mqttWss : undefined;
    if (!target) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
  });
  return server;
}
