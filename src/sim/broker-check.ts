/**
 * Is the broker at this URL ThingQL? `mqtt://localhost:1883` may well be another broker (Mosquitto listens there on
 * many machines), which accepts any login and never answers an Alink post: devices would "work" and every post time
 * out. ThingQL refuses a login whose Alink signature is wrong (alink-protocol.md §1.3), so one login with a deliberately
 * wrong signature tells them apart before any device is started.
 */
import mqtt from 'mqtt';
import { SimulationError } from './provision.ts';

/** The MQTT URL a tool uses when none is given: the MQTT_PORT setting, as the server reads it (default 1883). */
export function defaultMqttUrl(env: NodeJS.ProcessEnv): string {
  const port = env.MQTT_PORT && /^\d+$/.test(env.MQTT_PORT.trim()) ? env.MQTT_PORT.trim() : '1883';
  return `mqtt://localhost:${port}`;
}

/** The GraphQL URL a tool uses when none is given: the PORT setting (default 4000). */
export function defaultGraphqlUrl(env: NodeJS.ProcessEnv): string {
  const port = env.PORT && /^\d+$/.test(env.PORT.trim()) ? env.PORT.trim() : '4000';
  return `http://localhost:${port}/graphql`;
}

const FIX =
  'point --mqtt-url at ThingQL\'s MQTT port (its log says "MQTT on mqtt://..."; the setting is MQTT_PORT, which this tool also reads)';

export async function assertThingQLBroker(mqttUrl: string, timeoutMs = 5000): Promise<void> {
  const now = Date.now();
  const client = mqtt.connect(mqttUrl, {
    clientId: `thingql-probe.${now}|securemode=3,signmethod=hmacsha256,timestamp=${now}|`,
    username: 'thingql-probe&thingql-probe',
    password: '0'.repeat(64),
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    clean: true,
  });
  const outcome = await new Promise<
    { accepted: true } | { accepted: false; code: number | string | undefined; message: string }
  >((resolve) => {
    client.once('connect', () => resolve({ accepted: true }));
    client.once('error', (err: Error & { code?: number | string }) =>
      resolve({ accepted: false, code: err.code, message: err.message }),
    );
    client.once('close', () =>
      resolve({ accepted: false, code: 'CLOSED', message: 'connection closed before CONNACK' }),
    );
  });
  client.end(true);
  if (outcome.accepted) {
    throw new SimulationError(
      'NOT_THINGQL',
      `the MQTT broker at ${mqttUrl} accepted a login with a wrong Alink signature: it is not ThingQL (another broker, e.g. Mosquitto, listens there); ${FIX}`,
    );
  }
  // A refused CONNACK (4 bad user name or password, 5 not authorized, 3 unavailable): the broker checks logins.
  if (typeof outcome.code === 'number') return;
  if (outcome.code === 'ECONNREFUSED' || outcome.code === 'ENOTFOUND' || outcome.code === 'EHOSTUNREACH') {
    throw new SimulationError(
      'BROKER_UNREACHABLE',
      `nothing accepts MQTT connections at ${mqttUrl} (${outcome.message}): is ThingQL running? ${FIX}`,
    );
  }
  throw new SimulationError(
    'NOT_THINGQL',
    `the broker at ${mqttUrl} did not answer an Alink login as ThingQL does (${outcome.message}); ${FIX}`,
  );
}
