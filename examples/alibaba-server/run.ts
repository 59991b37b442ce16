/**
 * A server written with Alibaba's `@alicloud/iot20180120` (lamp-server.ts) driving a lamp on Alibaba's Node.js Link
 * SDK, both against ThingQL (README.md beside this file). Run: `npx tsx examples/alibaba-server/run.ts`.
 *
 * Without settings it starts an embedded ThingQL (in-memory database). With THINGQL_URL (e.g. http://127.0.0.1:4000),
 * THINGQL_MQTT_URL (e.g. mqtt://127.0.0.1:1883) and THINGQL_TOKEN (an ADMIN token) it uses that running ThingQL. The
 * setup (product, device, AccessKey pair) is what the Alibaba console does; here it goes through ThingQL's GraphQL.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startPlatform, type PlatformOptions } from '../../src/server.ts';
import { iotClient, LampServer } from './lamp-server.ts';

export interface AlibabaServerOptions {
  thingql?: { httpUrl: string; mqttUrl: string; adminToken: string };
  embedded?: PlatformOptions;
  /** RPC signatures (`signatureAlgorithm: 'v2'`) instead of ACS3. */
  rpcSignature?: boolean;
  log?: (line: string) => void;
}

export interface AlibabaServerResult {
  productKey: string;
  deviceName: string;
  statusBefore: string;
  ping: { code: string; answer: string | null };
  blink: { Done: number };
  notified: string;
  properties: Record<string, string>;
}

const tsl = JSON.parse(readFileSync(new URL('./lamp-tsl.json', import.meta.url), 'utf8')) as Record<string, unknown>;

/** Alibaba's Node.js Link SDK (CommonJS, no types): the few calls the lamp uses. */
interface LinkDevice {
  on(event: string, cb: (...args: any[]) => void): void;
  once(event: string, cb: (...args: any[]) => void): void;
  subscribe(topic: string, opts: object, cb: (err: Error | null) => void): void;
  publish(topic: string, payload: string, opts?: object): void;
  postProps(props: Record<string, unknown>, cb?: (res: unknown) => void): void;
  onProps(cb: (res: { id: string; params: Record<string, unknown> }) => void): void;
  onService(
    name: string,
    cb: (res: { id: string; params: any }, reply: (r: object, type?: 'sync' | 'async') => void) => void,
  ): void;
  end(force: boolean, cb: () => void): void;
}
const linkSdk = createRequire(import.meta.url)('alibabacloud-iot-device-sdk') as { device(c: object): LinkDevice };

function graphql(url: string, token: string) {
  return async <T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown };
    if (body.errors || !body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
    for (const v of Object.values(body.data)) {
      if (v && Array.isArray(v.userErrors) && v.userErrors.length > 0)
        throw new Error(`GraphQL userErrors: ${JSON.stringify(v.userErrors)}`);
    }
    return body.data as T;
  };
}

/** The lamp, as a Link SDK README would have it: property sets, a sync Blink service, raw RRpc, a custom topic. */
function startLamp(
  creds: { productKey: string; deviceName: string; deviceSecret: string },
  brokerUrl: string,
  log: (l: string) => void,
) {
  const { productKey: pk, deviceName: dn } = creds;
  const device = linkSdk.device({ ...creds, brokerUrl });
  const received: string[] = [];
  device.onProps((res) => {
    log(`[lamp ${dn}] set ${JSON.stringify(res.params)}`);
    device.publish(
      `/sys/${pk}/${dn}/thing/service/property/set_reply`,
      JSON.stringify({ id: res.id, code: 200, data: {} }),
      { qos: 1 },
    );
    device.postProps(res.params);
  });
  device.onService('Blink', (res, reply) => {
    log(`[lamp ${dn}] blinking ${res.params.Times} times`);
    reply({ id: res.id, code: 200, data: { Done: 1 } }, 'sync');
  });
  device.on('message', (topic: string, payload: Buffer) => {
    const rrpc = `/sys/${pk}/${dn}/rrpc/request/`;
    if (topic.startsWith(rrpc) && !payload.toString().startsWith('{')) {
      device.publish(`/sys/${pk}/${dn}/rrpc/response/${topic.slice(rrpc.length)}`, `pong: ${payload.toString()}`);
    } else if (topic === `/${pk}/${dn}/user/get`) {
      received.push(payload.toString());
      log(`[lamp ${dn}] message: ${payload.toString()}`);
    }
  });
  const ready = new Promise<void>((resolve, reject) => {
    device.once('connect', () =>
      device.subscribe(`/${pk}/${dn}/user/get`, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
    );
    device.once('error', (e: unknown) => reject(new Error(`lamp: ${String(e)}`)));
  });
  return { ready, received, end: () => new Promise<void>((r) => device.end(false, () => r())) };
}

export async function main(opts: AlibabaServerOptions = {}): Promise<AlibabaServerResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    let endpoint = opts.thingql;
    if (!endpoint) {
      log('starting an embedded ThingQL (in-memory database)...');
      const adminToken = `example-${randomBytes(16).toString('hex')}`;
      const config = makeConfig({
        PORT: 0,
        MQTT_PORT: 0,
        HOST: '127.0.0.1',
        DATABASE_URL: 'memory://',
        ADMIN_TOKEN: adminToken,
        LOG_LEVEL: 'warn',
        PRINT_ADMIN_TOKEN: false,
      });
      const platform = await startPlatform(config, { logger: createLogger(config.LOG_LEVEL), ...opts.embedded });
      cleanup.push(() => platform.close());
      endpoint = {
        httpUrl: `http://127.0.0.1:${platform.httpPort}`,
        mqttUrl: `mqtt://127.0.0.1:${platform.mqttPort}`,
        adminToken,
      };
    }
    const admin = graphql(`${endpoint.httpUrl}/graphql`, endpoint.adminToken);

    // What the Alibaba console did: a product with the lamp's thing model, a device, an AccessKey pair.
    const suffix = randomBytes(3).toString('hex');
    const { createProduct } = await admin(
      `mutation($i: CreateProductInput!) { createProduct(input: $i) { product { productKey } userErrors { code message } } }`,
      {
        i: { name: `Lamps ${suffix}`, tsl, description: 'examples/alibaba-server' },
      },
    );
    const productKey: string = createProduct.product.productKey;
    cleanup.push(() =>
      admin(`mutation($i: DeleteProductInput!) { deleteProduct(input: $i) { userErrors { code message } } }`, {
        i: { productKey },
      }),
    );
    const { registerDevice } = await admin(
      `mutation($i: RegisterDeviceInput!) { registerDevice(input: $i) { device { deviceName } deviceSecret userErrors { code message } } }`,
      {
        i: { productKey, deviceName: `lamp-${suffix}` },
      },
    );
    const deviceName: string = registerDevice.device.deviceName;
    cleanup.push(() =>
      admin(`mutation($i: DeleteDeviceInput!) { deleteDevice(input: $i) { userErrors { code message } } }`, {
        i: { productKey, deviceName },
      }),
    );
    const { createAccessKey } = await admin(
      `mutation($i: CreateAccessKeyInput!) { createAccessKey(input: $i) { accessKey { accessKeyId } accessKeySecret userErrors { code message } } }`,
      { i: { name: `lamp-server-${suffix}`, role: 'OPERATOR', productKeys: [productKey] } },
    );
    const accessKeyId: string = createAccessKey.accessKey.accessKeyId;
    cleanup.push(() =>
      admin(`mutation($i: RevokeAccessKeyInput!) { revokeAccessKey(input: $i) { userErrors { code message } } }`, {
        i: { accessKeyId },
      }),
    );
    log(`product ${productKey}, device ${deviceName}, AccessKeyId ${accessKeyId}`);

    // The server, configured for ThingQL: endpoint host:port, protocol http, the new AccessKey pair.
    const url = new URL(endpoint.httpUrl);
    const client = iotClient({
      endpoint: url.host,
      protocol: url.protocol === 'https:' ? 'https' : 'http',
      accessKeyId,
      accessKeySecret: createAccessKey.accessKeySecret,
      ...(opts.rpcSignature ? { signatureAlgorithm: 'v2' as const } : {}),
    });
    const server = new LampServer(client, productKey);
    const statusBefore = await server.status(deviceName);
    log(`[server] ${deviceName} is ${statusBefore}`);

    const lamp = startLamp(
      { productKey, deviceName, deviceSecret: registerDevice.deviceSecret },
      endpoint.mqttUrl,
      log,
    );
    cleanup.push(lamp.end);
    await lamp.ready;
    // Presence is committed just after the connection: wait until the platform says ONLINE. A device can also drop
    // and come back (a busy network, a reconnect): RRpc then answers OFFLINE and a sync service
    // iot.messagebroker.OFFLINE, so, like any server, wait for it to be online again and retry.
    const online = async () => {
      for (let i = 0; (await server.status(deviceName)) !== 'ONLINE'; i++) {
        if (i > 200) throw new Error('the lamp never came online');
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const whenOnline = async <T>(call: () => Promise<T>, offline: (r: T) => boolean): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        await online();
        const r = await call().catch((e: Error) => {
          if (attempt < 5 && e.message.includes('iot.messagebroker.OFFLINE')) return null;
          throw e;
        });
        if (r !== null && (!offline(r) || attempt >= 5)) return r;
        log(`[server] ${deviceName} was offline; retrying`);
      }
    };
    await online();
    log(`[server] ${deviceName} is ONLINE`);

    const ping = await whenOnline(
      () => server.ping(deviceName, 'are you there?'),
      (r) => r.code === 'OFFLINE',
    );
    log(`[server] RRpc ${ping.code}: ${ping.answer}`);
    const blink = await whenOnline(
      () => server.blink(deviceName, 3),
      () => false,
    );
    log(`[server] Blink answered ${JSON.stringify(blink)}`);
    const setId = await server.setBrightness(deviceName, 80);
    log(`[server] SetDeviceProperty sent (message ${setId})`);
    const notified = await server.notify(deviceName, 'good evening');
    for (let i = 0; !lamp.received.includes('good evening'); i++) {
      if (i > 300) throw new Error('the lamp never got the message');
      await new Promise((r) => setTimeout(r, 50));
    }
    let properties = await server.properties(deviceName);
    for (let i = 0; properties.Brightness !== '80'; i++) {
      if (i > 300) throw new Error('the lamp never reported its brightness');
      await new Promise((r) => setTimeout(r, 50));
      properties = await server.properties(deviceName);
    }
    log(`[server] properties ${JSON.stringify(properties)}`);
    return { productKey, deviceName, statusBefore, ping, blink, notified, properties };
  } finally {
    for (const step of cleanup.reverse()) await step().catch((e: unknown) => log(`cleanup: ${(e as Error).message}`));
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const env = process.env;
  const thingql = env.THINGQL_URL
    ? {
        httpUrl: env.THINGQL_URL.replace(/\/(graphql)?$/, ''),
        mqttUrl: env.THINGQL_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
        adminToken: env.THINGQL_TOKEN ?? '',
      }
    : undefined;
  main({ thingql, rpcSignature: process.argv.includes('--rpc') }).then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
