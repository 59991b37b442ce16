/**
 * The whole path, end to end: a consumer group and a subscribe relation made in GraphQL, an AccessKey pair, a device
 * posting a property over MQTT, and the consumer of consumer.ts (Alibaba's sample) receiving it over AMQP.
 *
 * Run: `npx tsx examples/alibaba-amqp-consumer/run.ts`. It starts an embedded ThingQL with AMQP on an ephemeral port
 * (in-memory database) and prints what the consumer receives.
 */
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { makeConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startPlatform, type PlatformOptions } from '../../src/server.ts';
import { startConsumer, type ReceivedMessage } from './consumer.ts';

export interface ExampleResult {
  productKey: string;
  deviceName: string;
  messages: ReceivedMessage[];
}

const TSL = {
  properties: [
    {
      identifier: 'Temperature',
      name: 'Temperature',
      accessMode: 'r',
      required: false,
      dataType: { type: 'float', specs: { min: '-40', max: '120', step: '0.1' } },
    },
  ],
  events: [],
  services: [],
};

export async function main(
  opts: { embedded?: PlatformOptions; log?: (line: string) => void } = {},
): Promise<ExampleResult> {
  const log = opts.log ?? console.log;
  const adminToken = `example-${Date.now()}-admin-token`;
  const config = makeConfig({
    PORT: 0,
    MQTT_PORT: 0,
    AMQP_PORT: 0,
    HOST: '127.0.0.1',
    DATABASE_URL: 'memory://',
    LOG_LEVEL: 'warn',
    ADMIN_TOKEN: adminToken,
    PRINT_ADMIN_TOKEN: false,
  });
  const platform = await startPlatform(config, { logger: createLogger(config.LOG_LEVEL), ...opts.embedded });
  const gql = async (query: string, variables: Record<string, unknown> = {}): Promise<any> => {
    const res = await fetch(`http://127.0.0.1:${platform.httpPort}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown };
    if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors));
    for (const v of Object.values(body.data)) if (v?.userErrors?.length) throw new Error(JSON.stringify(v.userErrors));
    return body.data;
  };
  let device: mqtt.MqttClient | null = null;
  let connection: ReturnType<typeof startConsumer> | null = null;
  try {
    // 1. A product with a device, an AccessKey pair for the server side, a consumer group and a subscribe relation.
    const { createProduct } = await gql(
      `mutation($i: CreateProductInput!) { createProduct(input: $i) { product { productKey } userErrors { code message } } }`,
      { i: { name: 'AMQP example thermometer', tsl: TSL } },
    );
    const productKey = createProduct.product.productKey as string;
    const { registerDevices } = await gql(
      `mutation($pk: String!) { registerDevices(input: { productKey: $pk, deviceNames: ["thermo-1"] }) { devices { device { deviceName } deviceSecret } userErrors { code message } } }`,
      { pk: productKey },
    );
    const deviceName = registerDevices.devices[0].device.deviceName as string;
    const deviceSecret = registerDevices.devices[0].deviceSecret as string;
    const { createAccessKey } = await gql(
      `mutation { createAccessKey(input: { name: "amqp example", role: VIEWER }) { accessKey { accessKeyId } accessKeySecret userErrors { code message } } }`,
    );
    const { createConsumerGroup } = await gql(
      `mutation { createConsumerGroup(input: { name: "example" }) { consumerGroup { groupId } userErrors { code message } } }`,
    );
    const groupId = createConsumerGroup.consumerGroup.groupId as string;
    await gql(
      `mutation($i: CreateSubscribeRelationInput!) { createSubscribeRelation(input: $i) { userErrors { code message } } }`,
      {
        i: { productKey, consumerGroupIds: [groupId], messageTypes: ['DEVICE_DATA', 'DEVICE_STATUS'] },
      },
    );
    log(`consumer group ${groupId} subscribes to ${productKey} (device data and status)`);

    // 2. The consumer, exactly as written for Alibaba Cloud: only host, port and transport differ.
    const messages: ReceivedMessage[] = [];
    let wake: () => void = () => {};
    connection = startConsumer(
      {
        host: '127.0.0.1',
        port: platform.amqpPort!,
        transport: 'tcp',
        accessKeyId: createAccessKey.accessKey.accessKeyId,
        accessKeySecret: createAccessKey.accessKeySecret,
        consumerGroupId: groupId,
        clientId: 'example-consumer',
      },
      (m) => {
        log(`[consumer] ${m.messageId} ${m.topic} ${m.content}`);
        messages.push(m);
        wake();
      },
    );
    await new Promise<void>((resolve) => connection!.once('receiver_open', () => resolve()));

    // 3. The device comes online and posts a property (Alink login, alink-protocol.md §1).
    const timestamp = String(Date.now());
    const clientId = `${productKey}.${deviceName}`;
    device = await mqtt.connectAsync(`mqtt://127.0.0.1:${platform.mqttPort}`, {
      clientId: `${clientId}|securemode=3,signmethod=hmacsha256,timestamp=${timestamp}|`,
      username: `${deviceName}&${productKey}`,
      password: createHmac('sha256', deviceSecret)
        .update(`clientId${clientId}deviceName${deviceName}productKey${productKey}timestamp${timestamp}`)
        .digest('hex'),
      reconnectPeriod: 0,
    });
    await device.publishAsync(
      `/sys/${productKey}/${deviceName}/thing/event/property/post`,
      JSON.stringify({ id: '1', version: '1.0', params: { Temperature: 21.5 }, method: 'thing.event.property.post' }),
      { qos: 1 },
    );

    // 4. The consumer gets the status change and the property post.
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${messages.length} messages arrived`)), 15_000);
      wake = () => messages.length >= 2 && (clearTimeout(t), resolve());
      wake();
    });
    return { productKey, deviceName, messages };
  } finally {
    await device?.endAsync();
    connection?.close();
    await platform.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
  process.exit(0);
}
