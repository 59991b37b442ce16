import { createHmac } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { DeviceCreds } from './devices.ts';
import type { TestPlatform } from './platform.ts';

/**
 * The wire form of Alibaba's Python Link SDK (`aliyun-iot-linkkit` 1.2.13, linkkit.py), sent by a raw mqtt.js client:
 * - CONNECT: ClientId `{pk}&{dn}|securemode=3,signmethod=hmacsha1,ext=1,_ss=1,lan=Python,_v=1.2.13,timestamp={s}|`
 *   (timestamp in SECONDS), username `{dn}&{pk}`, password hex HMAC-SHA1 of
 *   `clientId{pk}&{dn}deviceName{dn}productKey{pk}timestamp{s}`, clean session, keepalive 60;
 * - no SUBSCRIBE to any system topic (`_ss=1`): whatever arrives is dispatched by its exact topic;
 * - Alink requests `{"id": "<n>", "version": "1.0", "params": ..., "method": ...}` with a string id from a counter,
 *   OTA messages `{"id": <n>, "params": {...}}` with a NUMERIC id and no method, gateway requests without `method`.
 */
export function pythonLogin(c: DeviceCreds, seconds = Math.floor(Date.now() / 1000)) {
  const id = `${c.productKey}&${c.deviceName}`;
  const content = `clientId${id}deviceName${c.deviceName}productKey${c.productKey}timestamp${seconds}`;
  return {
    clientId: `${id}|securemode=3,signmethod=hmacsha1,ext=1,_ss=1,lan=Python,_v=1.2.13,timestamp=${seconds}|`,
    username: `${c.deviceName}&${c.productKey}`,
    password: createHmac('sha1', c.deviceSecret).update(content).digest('hex'),
  };
}

/** A device speaking the Python SDK's wire form: an inbox by exact topic, never a SUBSCRIBE. */
export class PythonWireDevice {
  private readonly inbox = new Map<string, Buffer[]>();
  private readonly waiters = new Map<string, ((b: Buffer) => void)[]>();
  private requestId = 0;
  /** Every topic that reached the device, in order. */
  readonly topics: string[] = [];

  private constructor(
    readonly client: MqttClient,
    readonly creds: DeviceCreds,
  ) {
    client.on('message', (topic, payload) => {
      this.topics.push(topic);
      const w = this.waiters.get(topic)?.shift();
      if (w) return w(payload);
      const list = this.inbox.get(topic) ?? [];
      list.push(payload);
      this.inbox.set(topic, list);
    });
  }

  static async connect(t: TestPlatform, creds: DeviceCreds): Promise<PythonWireDevice> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.platform.mqttPort}`, {
      ...pythonLogin(creds),
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    // The SDK subscribes nothing; make sure this client does not either (mqtt.js resubscribes only what it was given).
    return new PythonWireDevice(client, creds);
  }

  /** The SDK's request id: a counter sent as a string. */
  nextId(): string {
    return String(++this.requestId);
  }

  /** The next message on exactly `topic` (already arrived or still to come). */
  next(topic: string, timeoutMs = 8000): Promise<any> {
    const queued = this.inbox.get(topic)?.shift();
    if (queued) return Promise.resolve(parse(queued));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`nothing arrived on ${topic}; got ${JSON.stringify(this.topics)}`)),
        timeoutMs,
      );
      const list = this.waiters.get(topic) ?? [];
      list.push((b) => {
        clearTimeout(timer);
        resolve(parse(b));
      });
      this.waiters.set(topic, list);
    });
  }

  /** The next message whose topic starts with `prefix` (RRPC requests carry the platform's message id). */
  async nextWithPrefix(prefix: string, timeoutMs = 8000): Promise<{ topic: string; body: any }> {
    for (const [topic, list] of this.inbox) {
      if (topic.startsWith(prefix) && list.length > 0) return { topic, body: parse(list.shift()!) };
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.removeListener('message', on);
        reject(new Error(`nothing arrived under ${prefix}; got ${JSON.stringify(this.topics)}`));
      }, timeoutMs);
      const on = (topic: string, payload: Buffer) => {
        if (!topic.startsWith(prefix)) return;
        clearTimeout(timer);
        this.client.removeListener('message', on);
        // Taken here: drop it from the inbox the other listener filed it in.
        const list = this.inbox.get(topic);
        list?.splice(list.indexOf(payload), 1);
        resolve({ topic, body: parse(payload) });
      };
      this.client.on('message', on);
    });
  }

  publish(topic: string, body: unknown, qos: 0 | 1 = 0): Promise<unknown> {
    return this.client.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos });
  }

  /** Publish a request and wait for `${topic}_reply`. */
  async request(topic: string, body: unknown, qos: 0 | 1 = 0): Promise<any> {
    const reply = this.next(`${topic}_reply`);
    await this.publish(topic, body, qos);
    return reply;
  }

  end(): Promise<void> {
    return this.client.endAsync();
  }
}

function parse(b: Buffer): any {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return b.toString('utf8');
  }
}
