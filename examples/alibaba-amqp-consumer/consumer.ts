/**
 * An AMQP server-side subscription consumer written like Alibaba Cloud's Node.js sample ("Connect an AMQP client to
 * IoT Platform", rhea): only the host, port and transport differ when it talks to ThingQL instead of Alibaba Cloud.
 *
 * Run on its own: `AMQP_HOST=127.0.0.1 AMQP_PORT=5672 ACCESS_KEY_ID=... ACCESS_KEY_SECRET=... CONSUMER_GROUP_ID=...
 * npx tsx examples/alibaba-amqp-consumer/consumer.ts` (TRANSPORT=tls with ThingQL's AMQPS_PORT, as on Alibaba Cloud).
 */
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import container, { type Connection } from 'rhea';

export interface ConsumerConfig {
  host: string;
  port: number;
  transport: 'tcp' | 'tls';
  accessKeyId: string;
  accessKeySecret: string;
  consumerGroupId: string;
  clientId: string;
  iotInstanceId?: string;
  /** tls: accept a self-signed certificate (local tests only). */
  rejectUnauthorized?: boolean;
}

export interface ReceivedMessage {
  messageId: string;
  topic: string;
  generateTime: number;
  content: string;
}

export function startConsumer(config: ConsumerConfig, onMessage: (m: ReceivedMessage) => void): Connection {
  // The sample signs one timestamp for both the username and the password.
  const timestamp = Date.now();
  // Username: clientId|authMode=aksign,signMethod=hmacsha1,timestamp=...,authId=...,iotInstanceId=...,consumerGroupId=...|
  const username = `${config.clientId}|authMode=aksign,signMethod=hmacsha1,timestamp=${timestamp},authId=${config.accessKeyId},iotInstanceId=${config.iotInstanceId ?? ''},consumerGroupId=${config.consumerGroupId}|`;
  // Password: base64(HMAC-SHA1(AccessKeySecret, "authId=<AccessKeyId>&timestamp=<timestamp>")).
  const password = hmacSha1(config.accessKeySecret, `authId=${config.accessKeyId}&timestamp=${timestamp}`);

  // Create the connection.
  const connection = container.connect({
    host: config.host,
    port: config.port,
    transport: config.transport,
    reconnect: true,
    idle_time_out: 60000,
    username,
    password,
    ...(config.transport === 'tls' && config.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
  } as never);

  // Create a receiver link.
  const receiver = connection.open_receiver();

  // Receive the messages pushed by the platform.
  receiver.on('message', (context) => {
    const msg = context.message!;
    const messageId = String(msg.message_id);
    const topic = String(msg.application_properties!.topic);
    const content = Buffer.from((msg.body as { content: Buffer }).content).toString();
    onMessage({ messageId, topic, generateTime: Number(msg.application_properties!.generateTime), content });
    // Acknowledge the message (rhea would also do it when the handler returns, unless autoaccept is false).
    context.delivery!.accept();
  });
  return connection;
}

// Compute the password signature.
function hmacSha1(key: string, context: string): string {
  return Buffer.from(crypto.createHmac('sha1', key).update(context).digest()).toString('base64');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const env = process.env;
  startConsumer(
    {
      host: env.AMQP_HOST ?? '127.0.0.1',
      port: Number(env.AMQP_PORT ?? 5672),
      transport: env.TRANSPORT === 'tls' ? 'tls' : 'tcp',
      accessKeyId: env.ACCESS_KEY_ID ?? '',
      accessKeySecret: env.ACCESS_KEY_SECRET ?? '',
      consumerGroupId: env.CONSUMER_GROUP_ID ?? 'DEFAULT_GROUP',
      clientId: env.CLIENT_ID ?? `consumer-${process.pid}`,
    },
    (m) => console.log(`${m.messageId} ${m.topic} ${m.content}`),
  );
}
