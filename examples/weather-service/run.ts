/**
 * Weather-service round trip with the rules engine (README.md beside this file):
 *
 *   device --MQTT /${pk}/${dn}/user/weather/get {"city"}--> ThingQL
 *   rule SELECT city, deviceName() AS dn FROM "/${pk}/+/user/weather/get" --WEBHOOK--> weather service (HTTP)
 *   weather service --GraphQL pub /${pk}/${dn}/user/weather/reply--> ThingQL --MQTT--> device
 *
 * Run: `npx tsx examples/weather-service/run.ts [city]`. Without settings it starts an embedded ThingQL (in-memory
 * database); with THINGQL_URL (e.g. http://127.0.0.1:4000), THINGQL_MQTT_URL (default mqtt://localhost:$MQTT_PORT) and
 * THINGQL_TOKEN (an ADMIN token) it uses that running ThingQL, and WEATHER_SERVICE_HOST is the address it can reach
 * this machine on (default 127.0.0.1).
 */
import { createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { makeConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { assertThingQLBroker, defaultMqttUrl } from '../../src/sim/broker-check.ts';
import { startPlatform, type PlatformOptions } from '../../src/server.ts';
import { startWeatherService, type Forecast } from './weather-service.ts';

export interface ThingQLEndpoint {
  /** HTTP base URL: GraphQL is at `${httpUrl}/graphql`. */
  httpUrl: string;
  mqttUrl: string;
  /** An ADMIN token (the example creates a product, a device, an API key and a rule, and removes them after). */
  adminToken: string;
}

export interface WeatherExampleOptions {
  /** A running ThingQL; absent: an embedded one is started for the run. */
  thingql?: ThingQLEndpoint;
  /** Options of the embedded ThingQL (tests start it from a prepared database). */
  embedded?: PlatformOptions;
  /** The address the weather service listens on, as ThingQL reaches it. */
  serviceHost?: string;
  city?: string;
  log?: (line: string) => void;
  /** How long the device waits for its answer. */
  timeoutMs?: number;
}

export interface WeatherExampleResult {
  productKey: string;
  deviceName: string;
  question: { city: string };
  answer: Forecast;
}

/** GraphQL over HTTP: returns `data`, throws on errors and on userErrors. */
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

/** Alink MQTT login (alink-protocol.md §1.2-1.3): ClientId extension block, `dn&pk` user name, HMAC-SHA256 password. */
function alinkLogin(productKey: string, deviceName: string, deviceSecret: string) {
  const clientId = `${productKey}.${deviceName}`;
  const timestamp = String(Date.now());
  const content = `clientId${clientId}deviceName${deviceName}productKey${productKey}timestamp${timestamp}`;
  return {
    clientId: `${clientId}|securemode=3,signmethod=hmacsha256,timestamp=${timestamp}|`,
    username: `${deviceName}&${productKey}`,
    password: createHmac('sha256', deviceSecret).update(content).digest('hex'),
  };
}

async function startEmbedded(
  options: PlatformOptions | undefined,
  log: (l: string) => void,
): Promise<{ endpoint: ThingQLEndpoint; close: () => Promise<void> }> {
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
    // The weather service listens on this machine (127.0.0.1): a local rule destination (docs/security.md).
    RULE_ALLOW_PRIVATE_TARGETS: true,
  });
  const platform = await startPlatform(config, { logger: createLogger(config.LOG_LEVEL), ...options });
  return {
    endpoint: {
      httpUrl: `http://127.0.0.1:${platform.httpPort}`,
      mqttUrl: `mqtt://127.0.0.1:${platform.mqttPort}`,
      adminToken,
    },
    close: () => platform.close(),
  };
}

export async function main(opts: WeatherExampleOptions = {}): Promise<WeatherExampleResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const city = opts.city ?? 'Hangzhou';
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    // 1. ThingQL.
    let endpoint = opts.thingql;
    if (!endpoint) {
      const embedded = await startEmbedded(opts.embedded, log);
      endpoint = embedded.endpoint;
      cleanup.push(embedded.close);
    }
    const admin = graphql(`${endpoint.httpUrl}/graphql`, endpoint.adminToken);

    // 2. A product with the two custom topics of the conversation, and one device.
    const suffix = randomBytes(3).toString('hex');
    const { createProduct } = await admin(
      `mutation($i: CreateProductInput!) { createProduct(input: $i) { product { productKey } userErrors { code message } } }`,
      {
        i: { name: `Weather stations ${suffix}`, description: 'examples/weather-service' },
      },
    );
    const productKey: string = createProduct.product.productKey;
    cleanup.push(() =>
      admin(`mutation($i: DeleteProductInput!) { deleteProduct(input: $i) { userErrors { code message } } }`, {
        i: { productKey },
      }),
    );
    for (const [topicShortName, operation] of [
      ['weather/get', 'PUB'], // the device asks
      ['weather/reply', 'SUB'], // the device is answered
    ]) {
      await admin(
        `mutation($i: CreateProductTopicInput!) { createProductTopic(input: $i) { topic { topicTemplate } userErrors { code message } } }`,
        { i: { productKey, topicShortName, operation } },
      );
    }
    const { registerDevice } = await admin(
      `mutation($i: RegisterDeviceInput!) { registerDevice(input: $i) { device { deviceName } deviceSecret userErrors { code message } } }`,
      {
        i: { productKey, deviceName: `station-${suffix}` },
      },
    );
    const deviceName: string = registerDevice.device.deviceName;
    cleanup.push(() =>
      admin(`mutation($i: DeleteDeviceInput!) { deleteDevice(input: $i) { userErrors { code message } } }`, {
        i: { productKey, deviceName },
      }),
    );
    log(`product ${productKey}, device ${deviceName}`);

    // 3. The weather service, with an API key that may only operate this product.
    const { createApiKey } = await admin(
      `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id } token userErrors { code message } } }`,
      {
        i: { name: `weather-service-${suffix}`, role: 'OPERATOR', productKeys: [productKey] },
      },
    );
    cleanup.push(() =>
      admin(`mutation($i: RevokeApiKeyInput!) { revokeApiKey(input: $i) { userErrors { code message } } }`, {
        i: { id: createApiKey.apiKey.id },
      }),
    );
    const service = await startWeatherService({
      graphqlUrl: `${endpoint.httpUrl}/graphql`,
      token: createApiKey.token,
      productKey,
      host: opts.serviceHost,
      log,
    });
    cleanup.push(service.close);
    log(`weather service on ${service.url}`);

    // 4. The rule: every question goes to the weather service, with the asking device's name.
    const sql = `SELECT city, deviceName() AS dn FROM "/${productKey}/+/user/weather/get"`;
    const { createRule } = await admin(
      `mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } userErrors { code message } } }`,
      {
        i: { name: `weather-${suffix}`, sql, actions: [{ type: 'WEBHOOK', configuration: { url: service.url } }] },
      },
    );
    const ruleId: string = createRule.rule.id;
    cleanup.push(() =>
      admin(`mutation($i: DeleteRuleInput!) { deleteRule(input: $i) { userErrors { code message } } }`, {
        i: { id: ruleId },
      }),
    );
    await admin(
      `mutation($i: StartRuleInput!) { startRule(input: $i) { rule { status } userErrors { code message } } }`,
      { i: { id: ruleId } },
    );
    log(`rule: ${sql}`);

    // 5. The device (plain mqtt.js with an Alink login): subscribe to the answers, ask, wait. First make sure the broker
    // is ThingQL: another broker (e.g. Mosquitto on 1883) would accept the device and never answer.
    await assertThingQLBroker(endpoint.mqttUrl);
    const device = await mqtt.connectAsync(endpoint.mqttUrl, {
      ...alinkLogin(productKey, deviceName, registerDevice.deviceSecret),
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    cleanup.push(() => device.endAsync());
    const replyTopic = `/${productKey}/${deviceName}/user/weather/reply`;
    await device.subscribeAsync(replyTopic, { qos: 1 });
    const answered = new Promise<Forecast>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no weather answer arrived')), opts.timeoutMs ?? 15_000);
      device.on('message', (topic, payload) => {
        if (topic !== replyTopic) return;
        clearTimeout(timer);
        resolve(JSON.parse(payload.toString()) as Forecast);
      });
    });
    const question = { city };
    log(`[device ${deviceName}] asking: ${JSON.stringify(question)}`);
    await device.publishAsync(`/${productKey}/${deviceName}/user/weather/get`, JSON.stringify(question), { qos: 1 });
    const answer = await answered;
    log(
      `[device ${deviceName}] answer: ${answer.city} on ${answer.date}: ${answer.condition}, ${answer.lowC} to ${answer.highC} °C`,
    );
    return { productKey, deviceName, question, answer };
  } finally {
    // Undo in reverse: device, rule, service, API key, device registration, product, embedded ThingQL.
    for (const step of cleanup.reverse()) await step().catch((e: unknown) => log(`cleanup: ${(e as Error).message}`));
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const env = process.env;
  const thingql = env.THINGQL_URL
    ? {
        httpUrl: env.THINGQL_URL.replace(/\/(graphql)?$/, ''),
        mqttUrl: env.THINGQL_MQTT_URL ?? defaultMqttUrl(env),
        adminToken: env.THINGQL_TOKEN ?? '',
      }
    : undefined;
  main({ thingql, city: process.argv[2], serviceHost: env.WEATHER_SERVICE_HOST }).then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e instanceof Error && e.name === 'SimulationError' ? `weather example: ${e.message}` : e);
      process.exit(1);
    },
  );
}
