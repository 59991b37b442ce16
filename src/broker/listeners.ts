import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Aedes } from 'aedes';
import { limitPacketSize, PACKET_OVERHEAD } from './packet-limit.ts';

export interface Listeners {
  mqttPort: number;
  mqttsPort: number | null;
  /** Upgrades on /mqtt are routed here by the HTTP server. */
  wss: WebSocketServer;
  close(): Promise<void>;
}

const listen = (server: net.Server, port: number, host: string) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });

/** MQTT over TCP, over TLS when a certificate is configured, and over WebSocket at /mqtt (aedes' own recipe). */
export async function startListeners(
  broker: Aedes,
  opts: {
    host: string;
    port: number;
    tls?: { cert: string; key: string; port: number } | undefined;
    maxPayload: number;
  },
): Promise<Listeners> {
  const maxPacket = opts.maxPayload + PACKET_OVERHEAD;
  const tcp = net.createServer((socket) => {
    socket.setNoDelay(true);
    limitPacketSize(broker.handle(socket), maxPacket);
  });
  const mqttPort = await listen(tcp, opts.port, opts.host);
  let secure: tls.Server | null = null;
  let mqttsPort: number | null = null;
  if (opts.tls) {
    secure = tls.createServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) }, (socket) =>
      limitPacketSize(broker.handle(socket), maxPacket),
    );
    mqttsPort = await listen(secure, opts.tls.port, opts.host);
  }
  // A WebSocket frame carries one MQTT packet: bound it a little above the payload limit (D18).
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxPacket });
  wss.on('connection', (ws, req) => limitPacketSize(broker.handle(createWebSocketStream(ws), req), maxPacket));

  return {
    mqttPort,
    mqttsPort,
    wss,
    /** Stop accepting connections; the broker closes the live ones (with SERVER_SHUTDOWN) right after. */
    async close() {
      tcp.close();
      secure?.close();
      wss.close();
    },
  };
}
