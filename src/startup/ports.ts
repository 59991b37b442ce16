/**
 * Every port is opened first, before the database is touched: a taken port ends the start before any state is written
 * (such as the first start's admin token). The placeholders are handed over to the real listeners just before they
 * listen, on the same port numbers (also with PORT=0: the port the kernel picked is kept).
 */
import { accessSync, constants } from 'node:fs';
import net from 'node:net';
import type { Config } from '../config.ts';
import { listenError, StartupError } from './errors.ts';

export interface ReservedPorts {
  http: number;
  mqtt: number;
  /** Null without MQTT_TLS_CERT. */
  mqtts: number | null;
  /** Close the placeholders (idempotent): the real listeners take the ports right after. */
  release(): Promise<void>;
}

function hold(setting: string, host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', (err) => reject(listenError(err, setting, host, port)));
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

const close = (s: net.Server) => new Promise<void>((r) => s.close(() => r()));

export async function reservePorts(
  config: Pick<Config, 'HOST' | 'PORT' | 'MQTT_PORT' | 'MQTTS_PORT' | 'MQTT_TLS_CERT' | 'MQTT_TLS_KEY'>,
): Promise<ReservedPorts> {
  const tls = Boolean(config.MQTT_TLS_CERT && config.MQTT_TLS_KEY);
  if (tls) {
    for (const setting of ['MQTT_TLS_CERT', 'MQTT_TLS_KEY'] as const) {
      const file = config[setting]!;
      try {
        accessSync(file, constants.R_OK);
      } catch (err) {
        throw new StartupError(
          'TLS_FILE_UNREADABLE',
          setting,
          `${setting} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`,
          `point ${setting} to a readable PEM file.`,
        );
      }
    }
  }
  const held: net.Server[] = [];
  const port = (s: net.Server) => (s.address() as net.AddressInfo).port;
  try {
    const mqtt = await hold('MQTT_PORT', config.HOST, config.MQTT_PORT);
    held.push(mqtt);
    const mqtts = tls ? await hold('MQTTS_PORT', config.HOST, config.MQTTS_PORT) : null;
    if (mqtts) held.push(mqtts);
    const http = await hold('PORT', config.HOST, config.PORT);
    held.push(http);
    let released = false;
    return {
      http: port(http),
      mqtt: port(mqtt),
      mqtts: mqtts ? port(mqtts) : null,
      async release() {
        if (released) return;
        released = true;
        await Promise.all(held.map(close));
      },
    };
  } catch (err) {
    await Promise.all(held.map(close));
    throw err;
  }
}
