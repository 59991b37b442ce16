import type { IncomingMessage } from 'node:http';
import { CloseCode, DEPRECATED_GRAPHQL_WS_PROTOCOL, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../logger.ts';

/** What graphql-ws's `ctx.extra` holds for a socket served here (the same as graphql-ws/use/ws). */
export interface WsExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

/**
 * graphql-ws over `ws`, as `graphql-ws/use/ws` does it (subprotocol check, keep-alive pings, close handling), with one
 * difference: sending a message does not wait for the socket to have written it while the socket's buffer is below
 * `highWaterMark`.
 *
 * graphql-ws awaits `send` before it takes a subscription's next result, and `use/ws` resolves `send` in the write's
 * callback: one write completion per event, so a subscriber of a busy stream got every event in a write (a syscall and
 * a TCP segment) of its own, a turn of the event loop apart, and the per-batch cork (`corkFanout`) could not merge
 * them. Resolving at once while little is buffered lets a commit's events reach the socket in one write; past the
 * mark `send` waits for the write again, so a slow reader still holds its stream back (and the hub's bounded queue
 * ends it with SUBSCRIBER_TOO_SLOW, as before).
 */
export function serveGraphQLWs<E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<Record<string, unknown> | undefined, E & WsExtra>,
  wss: WebSocketServer,
  opts: { logger: Logger; keepAliveMs?: number; highWaterMark?: number },
): { dispose(): Promise<void> } {
  const server = makeServer(options);
  const keepAlive = opts.keepAliveMs ?? 12_000;
  const highWaterMark = opts.highWaterMark ?? 256 * 1024;
  const log = opts.logger;
  wss.options.handleProtocols = handleProtocols;

  wss.on('error', (err) => {
    log.error({ err }, 'GraphQL WebSocket server error');
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, 'Internal server error');
  });

  wss.on('connection', (socket, request) => {
    socket.once('error', (err) => {
      log.warn({ err }, 'GraphQL WebSocket error');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });

    let pongWait: NodeJS.Timeout | null = null;
    const pingInterval =
      keepAlive > 0 && Number.isFinite(keepAlive)
        ? setInterval(() => {
            if (socket.readyState !== socket.OPEN) return;
            pongWait = setTimeout(() => socket.terminate(), keepAlive);
            socket.once('pong', () => {
              if (pongWait) clearTimeout(pongWait);
              pongWait = null;
            });
            socket.ping();
          }, keepAlive)
        : null;

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            if (socket.bufferedAmount < highWaterMark) {
              // A failed write closes the socket: graphql-ws learns of it through `closed` below.
              socket.send(data);
              return resolve();
            }
            socket.send(data, (err) => (err ? reject(err) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) =>
          socket.on('message', (message) => {
            cb(String(message)).catch((err: unknown) => {
              log.error({ err }, 'GraphQL WebSocket message handling failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { socket, request } as E & WsExtra,
    );

    socket.once('close', (code, reason) => {
      if (pongWait) clearTimeout(pongWait);
      if (pingInterval) clearInterval(pingInterval);
      if (code === CloseCode.SubprotocolNotAcceptable && socket.protocol === DEPRECATED_GRAPHQL_WS_PROTOCOL)
        log.info('a client asked for the deprecated subscriptions-transport-ws protocol');
      void closed(code, String(reason));
    });
  });

  return {
    dispose: async () => {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
