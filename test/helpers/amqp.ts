/**
 * AMQP consumers written like Alibaba's Node sample for server-side subscription (cloud-api.md §7.2): rhea
 * `container.connect({host, port, transport, reconnect, idle_time_out, username, password})`, then `open_receiver()`
 * and `context.delivery.accept()` in the message handler. Options let a test stop short of that (no link, no settle).
 */
import crypto from 'node:crypto';
import rhea, { type Connection, type Delivery, type EventContext, type Message, type Receiver } from 'rhea';
import type { TestPlatform } from './platform.ts';

export interface AmqpKey {
  accessKeyId: string;
  accessKeySecret: string;
}

export interface Received {
  messageId: string;
  topic: string;
  generateTime: unknown;
  content: string;
  message: Message;
  delivery: Delivery;
}

export interface Consumer {
  connection: Connection;
  receiver: Receiver | null;
  received: Received[];
  /** Resolves once `n` messages in total have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  /** Resolves when the connection is refused or closed (the error condition, if any). */
  closed: Promise<string | undefined>;
  close(): Promise<void>;
}

export function hmacSha1(key: string, context: string): string {
  return Buffer.from(crypto.createHmac('sha1', key).update(context).digest()).toString('base64');
}

export interface ConsumerOptions {
  port: number;
  key: AmqpKey;
  consumerGroupId: string;
  clientId?: string;
  /** false: never attach a receiver link. */
  attach?: boolean;
  /** 'accept' (the sample), 'none' (never settle), or a function choosing per message. */
  settle?: 'accept' | 'none' | ((r: Received) => 'accept' | 'release' | 'reject' | 'none');
  creditWindow?: number;
  password?: string;
  timestamp?: string;
  /** 'tls' for AMQPS_PORT (the self-signed test certificate is accepted). */
  transport?: 'tcp' | 'tls';
}

export function alibabaConsumer(o: ConsumerOptions): Consumer {
  const timestamp = o.timestamp ?? String(Date.now());
  const clientId = o.clientId ?? `client-${crypto.randomBytes(4).toString('hex')}`;
  const container = rhea.create_container();
  const connection = container.connect(<never>{
    host: '127.0.0.1',
    port: o.port,
    transport: o.transport ?? 'tcp',
    ...(o.transport === 'tls' ? { rejectUnauthorized: false } : {}),
    reconnect: false,
    idle_time_out: 60000,
    username: `${clientId}|authMode=aksign,signMethod=hmacsha1,timestamp=${timestamp},authId=${o.key.accessKeyId},iotInstanceId=,consumerGroupId=${o.consumerGroupId}|`,
    password: o.password ?? hmacSha1(o.key.accessKeySecret, `authId=${o.key.accessKeyId}&timestamp=${timestamp}`),
  });
  const received: Received[] = [];
  let waiters: (() => void)[] = [];
  let receiver: Receiver | null = null;
  if (o.attach !== false) {
    const manual = o.settle !== undefined && o.settle !== 'accept';
    receiver = connection.open_receiver({
      autoaccept: !manual,
      ...(o.creditWindow !== undefined ? { credit_window: o.creditWindow } : {}),
    });
    receiver.on('message', (context: EventContext) => {
      const msg = context.message!;
      const r: Received = {
        messageId: String(msg.message_id),
        topic: String(msg.application_properties?.topic),
        generateTime: msg.application_properties?.generateTime,
        content: Buffer.from((msg.body as { content: Buffer }).content).toString(),
        message: msg,
        delivery: context.delivery!,
      };
      received.push(r);
      if (typeof o.settle === 'function') {
        const what = o.settle(r);
        if (what === 'accept') context.delivery!.accept();
        else if (what === 'release') context.delivery!.release();
        else if (what === 'reject') context.delivery!.reject();
      }
      for (const w of waiters) w();
    });
  }
  const closed = new Promise<string | undefined>((resolve) => {
    const done = (ctx: EventContext) =>
      resolve(
        ctx.connection?.error
          ? String((ctx.connection.error as { condition?: string }).condition ?? ctx.connection.error)
          : undefined,
      );
    container.on('disconnected', done);
    container.on('connection_close', done);
    container.on('connection_error', done);
  });
  container.on('error', () => undefined);
  container.on('receiver_error', () => undefined);
  return {
    connection,
    receiver,
    received,
    closed,
    waitFor(n, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length >= n) {
            waiters = waiters.filter((w) => w !== check);
            clearTimeout(timer);
            resolve(received.slice());
          }
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== check);
          reject(new Error(`${received.length} of ${n} AMQP messages arrived`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
    async close() {
      if (connection.is_open()) {
        const c = new Promise((r) => container.once('connection_close', r));
        connection.close();
        await Promise.race([c, closed]);
      }
      connection.socket?.destroy?.();
    },
  };
}

/** An AccessKey, a consumer group and a relation for one product: what every AMQP suite starts from. */
export async function subscription(
  t: Pick<TestPlatform, 'gql'>,
  productKey: string,
  messageTypes: string[],
  opts: { groupName?: string; role?: string } = {},
) {
  const k = await t.gql(
    `mutation($i: CreateAccessKeyInput!) { createAccessKey(input: $i) { accessKey { accessKeyId } accessKeySecret userErrors { code } } }`,
    {
      i: { name: 'amqp test', role: opts.role ?? 'VIEWER' },
    },
  );
  const key: AmqpKey = {
    accessKeyId: k.data.createAccessKey.accessKey.accessKeyId,
    accessKeySecret: k.data.createAccessKey.accessKeySecret,
  };
  const g = await t.gql(
    `mutation($i: CreateConsumerGroupInput!) { createConsumerGroup(input: $i) { consumerGroup { groupId } userErrors { code } } }`,
    {
      i: { name: opts.groupName ?? 'amqp-test' },
    },
  );
  const groupId = g.data.createConsumerGroup.consumerGroup.groupId as string;
  await relate(t, productKey, [groupId], messageTypes);
  return { key, groupId };
}

/** Creates or replaces the product's relation. */
export async function relate(
  t: Pick<TestPlatform, 'gql'>,
  productKey: string,
  consumerGroupIds: string[],
  messageTypes: string[],
): Promise<void> {
  const i = { productKey, consumerGroupIds, messageTypes };
  const c = await t.gql(
    `mutation($i: CreateSubscribeRelationInput!) { createSubscribeRelation(input: $i) { userErrors { code message } } }`,
    { i },
  );
  const errs = c.data.createSubscribeRelation.userErrors as { code: string }[];
  if (errs.length === 0) return;
  if (errs[0]!.code !== 'SUBSCRIBE_RELATION_EXISTS') throw new Error(JSON.stringify(errs));
  const u = await t.gql(
    `mutation($i: UpdateSubscribeRelationInput!) { updateSubscribeRelation(input: $i) { userErrors { code message } } }`,
    { i },
  );
  if (u.data.updateSubscribeRelation.userErrors.length)
    throw new Error(JSON.stringify(u.data.updateSubscribeRelation.userErrors));
}
