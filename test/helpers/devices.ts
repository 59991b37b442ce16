import { createHmac } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll } from 'vitest';
import type { TestPlatform } from './platform.ts';

export interface DeviceCreds {
  productKey: string;
  deviceName: string;
  deviceSecret: string;
}

export type Transport = 'tcp' | 'ws';

/** alink-protocol.md §1.2-1.3: ClientId with the extension block, `dn&pk` username, sorted-concatenation HMAC. */
export function alinkLogin(
  c: DeviceCreds,
  opts: {
    signMethod?: 'hmacmd5' | 'hmacsha1' | 'hmacsha256';
    clientId?: string;
    timestamp?: string;
    upper?: boolean;
  } = {},
) {
  const signMethod = opts.signMethod ?? 'hmacsha256';
  const clientId = opts.clientId ?? `${c.productKey}.${c.deviceName}`;
  const timestamp = opts.timestamp ?? String(Date.now());
  const content = `clientId${clientId}deviceName${c.deviceName}productKey${c.productKey}timestamp${timestamp}`;
  let password = createHmac(signMethod.slice(4), c.deviceSecret).update(content).digest('hex');
  if (opts.upper) password = password.toUpperCase();
  return {
    clientId: `${clientId}|securemode=3,signmethod=${signMethod},timestamp=${timestamp}|`,
    username: `${c.deviceName}&${c.productKey}`,
    password,
  };
}

export function brokerUrl(t: TestPlatform, transport: Transport): string {
  return transport === 'tcp' ? `mqtt://127.0.0.1:${t.platform.mqttPort}` : `ws://127.0.0.1:${t.platform.httpPort}/mqtt`;
}

/** A real mqtt.js client logged in as the device (no reconnects in tests: stack.md gotcha 12). */
export function connectDevice(
  t: TestPlatform,
  transport: Transport,
  c: DeviceCreds,
  extra: IClientOptions & { signMethod?: 'hmacmd5' | 'hmacsha1' | 'hmacsha256' } = {},
): Promise<MqttClient> {
  const { signMethod, ...rest } = extra;
  return mqtt.connectAsync(brokerUrl(t, transport), {
    ...alinkLogin(c, signMethod ? { signMethod } : {}),
    reconnectPeriod: 0,
    connectTimeout: 5000,
    keepalive: 60,
    ...rest,
  });
}

/** Create a product (optionally with a TSL) and register devices; returns their credentials. */
export async function productWithDevices(
  t: TestPlatform,
  count: number,
  input: Record<string, unknown> = {},
): Promise<{ productKey: string; devices: DeviceCreds[] }> {
  const p = await t.gql(
    `mutation($i: CreateProductInput!) { createProduct(input: $i) { product { productKey } userErrors { code message } } }`,
    {
      i: { name: 'Test product', ...input },
    },
  );
  if (p.data?.createProduct?.userErrors?.length || !p.data) throw new Error(JSON.stringify(p));
  const productKey = p.data.createProduct.product.productKey as string;
  const r = await t.gql(
    `mutation($i: RegisterDevicesInput!) { registerDevices(input: $i) { devices { device { deviceName } deviceSecret } userErrors { code message } } }`,
    { i: { productKey, deviceNames: Array.from({ length: count }, (_, k) => `dev-${String(k).padStart(4, '0')}`) } },
  );
  if (r.data.registerDevices.userErrors.length) throw new Error(JSON.stringify(r.data.registerDevices.userErrors));
  return {
    productKey,
    devices: r.data.registerDevices.devices.map((d: any) => ({
      productKey,
      deviceName: d.device.deviceName,
      deviceSecret: d.deviceSecret,
    })),
  };
}

/** Resolve with the next message on `topic` (subscribe first). */
export function nextMessage(
  client: MqttClient,
  topicPredicate: (topic: string) => boolean,
  timeoutMs = 5000,
): Promise<{ topic: string; payload: Buffer }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.removeListener('message', onMessage);
      reject(new Error('no message arrived'));
    }, timeoutMs);
    const onMessage = (topic: string, payload: Buffer) => {
      if (!topicPredicate(topic)) return;
      clearTimeout(timer);
      client.removeListener('message', onMessage);
      resolve({ topic, payload });
    };
    client.on('message', onMessage);
  });
}

/** @deprecated Import `sleep` from ./wait.ts; kept for the suites that still import it from here. */
export { sleep } from './wait.ts';

/**
 * A product with `count` devices for a file's tests (created before them), and a list for the MQTT clients they open,
 * ended after them.
 */
export function useProductDevices(
  t: TestPlatform,
  count: number,
): { pk: string; devices: DeviceCreds[]; open: MqttClient[] } {
  const fixture = { pk: '', devices: [] as DeviceCreds[], open: [] as MqttClient[] };
  beforeAll(async () => {
    const created = await productWithDevices(t, count);
    fixture.pk = created.productKey;
    fixture.devices = created.devices;
  });
  afterAll(async () => {
    await Promise.all(fixture.open.map((c) => c.endAsync().catch(() => undefined)));
  });
  return fixture;
}
