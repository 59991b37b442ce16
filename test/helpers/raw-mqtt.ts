import net from 'node:net';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import type { Transport } from './devices.ts';
import type { TestPlatform } from './platform.ts';

/**
 * Hand-built MQTT 3.1.1 packets for what mqtt.js will not do: drop a socket at an exact moment, or announce a packet
 * larger than it sends.
 */
function str(s: string | Buffer): Buffer {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

/** [MQTT-2.2.3] variable byte integer. */
export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

export function connectPacket(login: { clientId: string; username: string; password: string }, keepalive = 60): Buffer {
  const variable = Buffer.concat([str('MQTT'), Buffer.from([4, 0x80 | 0x40 | 0x02, keepalive >> 8, keepalive & 0xff])]);
  const payload = Buffer.concat([str(login.clientId), str(login.username), str(login.password)]);
  const body = Buffer.concat([variable, payload]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

export interface RawConnection {
  write(b: Buffer): void;
  /** Abrupt close: TCP socket destroyed, WebSocket terminated (no close frame). */
  drop(): void;
  /** Resolves when the server closed the connection (or it was dropped). */
  closed: Promise<void>;
  /** Bytes the server sent. */
  received(): Buffer;
}

export function rawConnect(t: TestPlatform, transport: Transport): Promise<RawConnection> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    if (transport === 'tcp') {
      const s = net.connect(t.platform.mqttPort, '127.0.0.1');
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      s.on('data', (c) => chunks.push(c));
      s.on('error', () => {});
      s.once('connect', () =>
        resolve({ write: (b) => s.write(b), drop: () => s.destroy(), closed, received: () => Buffer.concat(chunks) }),
      );
      s.once('error', reject);
    } else {
      const ws = new WebSocket(`ws://127.0.0.1:${t.platform.httpPort}/mqtt`, 'mqtt');
      const closed = new Promise<void>((r) => ws.once('close', () => r()));
      ws.on('message', (c: Buffer) => chunks.push(c));
      ws.on('error', () => {});
      ws.once('open', () =>
        resolve({
          write: (b) => ws.send(b),
          drop: () => ws.terminate(),
          closed,
          received: () => Buffer.concat(chunks),
        }),
      );
      ws.once('error', reject);
    }
  });
}

/** The CONNACK return code a login gets (mqtt.js reports a refusal as an error with `code`); 0 when accepted. */
export function connackCode(
  t: TestPlatform,
  transport: Transport,
  login: { clientId: string; username: string; password: string },
): Promise<number> {
  const url =
    transport === 'tcp' ? `mqtt://127.0.0.1:${t.platform.mqttPort}` : `ws://127.0.0.1:${t.platform.httpPort}/mqtt`;
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { ...login, reconnectPeriod: 0, connectTimeout: 5000 });
    c.on('connect', () => {
      c.end(true);
      resolve(0);
    });
    c.on('error', (err: Error & { code?: number }) => {
      c.end(true);
      if (typeof err.code === 'number') resolve(err.code);
      else reject(err);
    });
  });
}
