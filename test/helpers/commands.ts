/**
 * Shared steps for the cloud-to-device command suites: the command mutations as one-liners, a device that answers
 * like a Link SDK device, waits on the broker's view of a session, and the command lifecycle as the database holds it.
 */
import { eq } from 'drizzle-orm';
import type { Aedes } from 'aedes';
import type { Client as WsClient } from 'graphql-ws';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { autoSubscriptions } from '../../src/broker/broker.ts';
import { commands } from '../../src/db/tables.ts';
import { liveClientsOf } from './aedes-spy.ts';
import { alinkLogin, brokerUrl, type DeviceCreds, type Transport } from './devices.ts';
import type { TestPlatform } from './platform.ts';
import { DEVICE_QUERY } from './status.ts';
import { waitFor } from './wait.ts';

type Gql = Pick<TestPlatform, 'gql'>;

const ERRORS = 'userErrors { code message field }';

export const MUTATIONS = {
  setDeviceProperty: `mutation($i: SetDevicePropertyInput!) { setDeviceProperty(input: $i) { messageId ${ERRORS} } }`,
  setDevicesProperty: `mutation($i: SetDevicesPropertyInput!) { setDevicesProperty(input: $i) { results { deviceName messageId ${ERRORS} } ${ERRORS} } }`,
  invokeThingService: `mutation($i: InvokeThingServiceInput!) { invokeThingService(input: $i) { messageId callType code output rrpcCode ${ERRORS} } }`,
  invokeThingsService: `mutation($i: InvokeThingsServiceInput!) { invokeThingsService(input: $i) { results { deviceName messageId ${ERRORS} } ${ERRORS} } }`,
  rrpc: `mutation($i: RrpcInput!) { rrpc(input: $i) { rrpcCode messageId payloadBase64 payloadText ${ERRORS} } }`,
  pub: `mutation($i: PubInput!) { pub(input: $i) { messageId ${ERRORS} } }`,
  pubBroadcast: `mutation($i: PubBroadcastInput!) { pubBroadcast(input: $i) { messageId ${ERRORS} } }`,
} as const;

export type CommandMutation = keyof typeof MUTATIONS;

/** Run one command mutation with `input`; returns its payload (throws on GraphQL errors, which no test expects). */
export async function command(t: Gql, name: CommandMutation, input: Record<string, unknown>): Promise<any> {
  const r = await t.gql(MUTATIONS[name], { i: input });
  if (r.errors || !r.data?.[name]) throw new Error(`${name}: ${JSON.stringify(r.errors ?? r.data)}`);
  return r.data[name];
}

/**
 * The same over one graphql-ws socket: any number of operations are in flight at once on it, where HTTP/1.1 needs a
 * connection per call (and a burst of a thousand connects overflows the listen backlog: SYN retries of 1 s and more).
 */
export function wsCommand(ws: WsClient, name: CommandMutation, input: Record<string, unknown>): Promise<any> {
  return new Promise((resolve, reject) => {
    let result: any = null;
    ws.subscribe<any>(
      { query: MUTATIONS[name], variables: { i: input } },
      {
        next: (v) => {
          if (v.errors || !v.data?.[name]) reject(new Error(`${name}: ${JSON.stringify(v.errors ?? v.data)}`));
          else result = v.data[name];
        },
        error: reject,
        complete: () => (result ? resolve(result) : reject(new Error(`${name}: completed without a result`))),
      },
    );
  });
}

export const DOWNLINK_REPLIES = `subscription($pk: String, $dn: String, $after: String) {
  downlinkReplies(productKey: $pk, deviceName: $dn, after: $after) { requestId code message topic data deviceName productKey iotId receivedAt cursor }
}`;

const SERVICE_HISTORY = `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!) {
  deviceServiceHistory(productKey: $pk, deviceName: $dn, from: $from, to: $to, order: ASC, first: 500) {
    edges { node { messageId identifier callType status code input output requestedAt repliedAt } } } }`;

/** deviceServiceHistory of the last hour (and the next minute), oldest first. */
export async function serviceHistory(t: Gql, pk: string, dn: string): Promise<any[]> {
  const r = await t.gql(SERVICE_HISTORY, {
    pk,
    dn,
    from: new Date(Date.now() - 3_600_000).toISOString(),
    to: new Date(Date.now() + 60_000).toISOString(),
  });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.deviceServiceHistory.edges.map((e: any) => e.node);
}

/** The command as recorded (the `commands` table): the one lifecycle of every kind, RRPC and pub included. */
export async function commandRow(t: TestPlatform, messageId: string) {
  const [row] = await t.platform.database.db.select().from(commands).where(eq(commands.messageId, messageId));
  return row;
}

/** Every recorded command of a product. */
export async function commandRows(t: TestPlatform, productKey: string) {
  return t.platform.database.db.select().from(commands).where(eq(commands.productKey, productKey));
}

/** Wait until the platform records the device as `state` (presence is committed after the socket event). */
export function deviceState(t: Gql, pk: string, dn: string, state: 'ONLINE' | 'OFFLINE'): Promise<unknown> {
  return waitFor(async () => (await t.gql(DEVICE_QUERY, { pk, dn })).data.device.state, {
    until: (s) => s === state,
    message: `${dn} ${state}`,
  });
}

/**
 * Wait until the broker holds the D19 automatic subscriptions for the device's live session. aedes writes CONNACK
 * before its `clientReady` event, where they are added, so a client's `connect` does not yet mean they exist.
 */
export function autoSubscribed(broker: () => Aedes, pk: string, dn: string): Promise<unknown> {
  const want = autoSubscriptions(pk, dn);
  return waitFor(async () => Object.keys(liveClientsOf(broker(), pk, dn)[0]?.subscriptions ?? {}), {
    until: (subs) => want.every((w) => subs.includes(w)),
    message: `automatic subscriptions of ${dn}`,
  });
}

/**
 * A device that answers every command like a Link SDK device: property set and async services reply with code 200
 * (Reboot with `{Accepted: 1}`), Blink (sync, over RRPC) with `{Done: 1}`, raw RRPC requests with
 * `${messageId}:${payload}` (or what `options.rawReply` makes of them), so every answer names the request it
 * answers; service replies go at `options.replyQos` (default 1). Returns what it received.
 */
export function answerCommands(
  c: MqttClient,
  pk: string,
  dn: string,
  options: { rawReply?: (id: string, text: string) => string; replyQos?: 0 | 1 } = {},
): { received: { topic: string; payload: string }[] } {
  const { rawReply = (id, text) => `${id}:${text}`, replyQos = 1 } = options;
  const received: { topic: string; payload: string }[] = [];
  c.on('message', (topic, payload) => {
    const text = payload.toString();
    received.push({ topic, payload: text });
    const rrpc = `/sys/${pk}/${dn}/rrpc/request/`;
    if (topic.startsWith(rrpc)) {
      const id = topic.slice(rrpc.length);
      let body: any = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
      const reply =
        body?.method === 'thing.service.Blink'
          ? JSON.stringify({ id: body.id, code: 200, data: { Done: 1 } })
          : rawReply(id, text);
      c.publish(`/sys/${pk}/${dn}/rrpc/response/${id}`, reply);
    } else if (topic.startsWith(`/sys/${pk}/${dn}/thing/service/`)) {
      const body = JSON.parse(text);
      c.publish(
        `${topic}_reply`,
        JSON.stringify({ id: body.id, code: 200, data: body.method === 'thing.service.Reboot' ? { Accepted: 1 } : {} }),
        { qos: replyQos },
      );
    }
  });
  return { received };
}

export interface Received {
  session: number;
  topic: string;
  payload: string;
  qos: number;
}

/**
 * A device with a persistent session (`clean: false`, the Link SDK default) and a fixed MQTT ClientId (the signed
 * timestamp is fixed, as the C SDK's is), so each `connect()` resumes the same broker session. Messages of every
 * session are recorded from the first byte: the handler is attached before CONNACK, because a resumed session's queued
 * messages follow CONNACK at once.
 */
export function persistentDevice(
  t: TestPlatform,
  creds: DeviceCreds,
  opts: { transport?: Transport; extra?: IClientOptions } = {},
) {
  const login = alinkLogin(creds, { timestamp: '2524608000000' });
  const received: Received[] = [];
  let session = 0;
  let client: MqttClient | null = null;
  return {
    received,
    get client(): MqttClient {
      if (!client) throw new Error('not connected');
      return client;
    },
    /** Connect (or resume); `onMessage` answers commands of this session. */
    connect(onMessage?: (c: MqttClient, m: Received) => void): Promise<{ sessionPresent: boolean }> {
      const n = ++session;
      const c = mqtt.connect(brokerUrl(t, opts.transport ?? 'tcp'), {
        ...login,
        clean: false,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        keepalive: 60,
        ...opts.extra,
      });
      client = c;
      c.on('message', (topic, payload, packet) => {
        const m = { session: n, topic, payload: payload.toString(), qos: packet.qos };
        received.push(m);
        onMessage?.(c, m);
      });
      return new Promise((resolve, reject) => {
        c.once('connect', (connack) => resolve({ sessionPresent: connack.sessionPresent }));
        c.once('error', reject);
      });
    },
    async disconnect(): Promise<void> {
      await client?.endAsync();
      client = null;
    },
  };
}

/** Answer property sets and async services with code 200, as a Link SDK device does (D11: the id is echoed). */
export function replyOk(c: MqttClient, m: Received): void {
  if (!/^\/sys\/[^/]+\/[^/]+\/thing\/service\//.test(m.topic) || m.topic.endsWith('_reply')) return;
  const body = JSON.parse(m.payload) as { id: string; method: string };
  c.publish(
    `${m.topic}_reply`,
    JSON.stringify({ id: body.id, code: 200, data: body.method === 'thing.service.Reboot' ? { Accepted: 1 } : {} }),
    { qos: 1 },
  );
}
