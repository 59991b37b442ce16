/**
 * One simulated device: logs in with the Alink signature (alink-protocol.md §1.2-1.3), posts properties and events
 * (§3.3, §3.6) and answers what the cloud sends it like a Link SDK device does: property set (§3.4: reply 200 on
 * `set_reply`, then post the new values), property get (§3.5), async services on `thing/service/${id}_reply`, sync
 * services and raw RRPC on `/sys/${pk}/${dn}/rrpc/response/${messageId}` (§2.5, D12; raw payloads are echoed).
 *
 * Read-write properties are the device's settings: they keep their value (random at start) until a property set
 * changes it; read-only properties are sensor readings, drawn afresh for every post.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { decodeReply, decodeRequest, encodeReply } from '../domain/alink/envelope.ts';
import { hmacHex, signContent } from '../domain/auth/signature.ts';
import { validatePropertySet, validateServiceInput, type ThingModel } from '../domain/tsl/index.ts';
import type { SimDeviceCreds } from './provision.ts';
import type { SentKind, SimStats } from './stats.ts';
import { pickSome, randomParams, randomValue, type Rng } from './values.ts';

export interface DeviceContext {
  model: ThingModel;
  stats: SimStats;
  qos: 0 | 1;
  rng: Rng;
  /** properties per post (all when undefined) */
  propertiesPerPost: number | undefined;
  mqttUrl: string;
  /** reconnect after an unexpected disconnect (the login is signed again with a fresh timestamp) */
  reconnect: boolean;
}

/** The device's downstream topics it subscribes to: the same filters as the platform's automatic ones (D19). */
const FILTERS = [
  'thing/service/+',
  'thing/service/property/+',
  'thing/event/+/post_reply',
  'thing/event/property/post_reply',
  'rrpc/request/+',
];

/** §1.2-1.3: ClientId `${pk}.${dn}|securemode=..,signmethod=hmacsha256,timestamp=..|`, username `dn&pk`. */
export function alinkCredentials(c: SimDeviceCreds, mqttUrl: string, now = Date.now()) {
  const clientId = `${c.productKey}.${c.deviceName}`;
  const timestamp = String(now);
  const securemode = /^(mqtts|wss):/.test(mqttUrl) ? 2 : 3;
  const password = hmacHex(
    'hmacsha256',
    c.deviceSecret,
    signContent({ clientId, deviceName: c.deviceName, productKey: c.productKey, timestamp }),
  );
  return {
    clientId: `${clientId}|securemode=${securemode},signmethod=hmacsha256,timestamp=${timestamp}|`,
    username: `${c.deviceName}&${c.productKey}`,
    password,
  };
}

export class SimDevice {
  private client: MqttClient | undefined;
  private readonly base: string;
  private readonly pending = new Map<string, number>();
  private nextId = 1;
  private online = false;
  private closing = false;
  /** the current value of every property: rw ones are settings, r ones the last reading */
  private readonly values = new Map<string, unknown>();
  private readonly properties: string[];
  private readonly events: string[];

  constructor(
    readonly creds: SimDeviceCreds,
    private readonly ctx: DeviceContext,
  ) {
    this.base = `/sys/${creds.productKey}/${creds.deviceName}/`;
    this.properties = [...ctx.model.properties.keys()];
    // The default `post` event is the property post itself (alink-protocol.md §4.3).
    this.events = [...ctx.model.events.keys()].filter((id) => id !== 'post');
    for (const [id, p] of ctx.model.properties) this.values.set(id, randomValue(p.dataType, ctx.rng));
  }

  get inFlight(): number {
    return this.pending.size;
  }

  get isOnline(): boolean {
    return this.online;
  }

  get hasEvents(): boolean {
    return this.events.length > 0;
  }

  async connect(): Promise<void> {
    const { mqttUrl } = this.ctx;
    const client = await mqtt.connectAsync(
      mqttUrl,
      {
        ...alinkCredentials(this.creds, mqttUrl),
        protocolVersion: 4,
        clean: true,
        keepalive: 60,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
      },
      false,
    );
    this.client = client;
    client.on('error', () => {}); // failures surface as 'close' (counted) or publish callbacks
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    try {
      await client.subscribeAsync(
        FILTERS.map((f) => this.base + f),
        { qos: 1 },
      );
    } catch (e) {
      client.end(true);
      throw e;
    }
    this.setOnline(true);
    client.on('connect', () => this.setOnline(true));
    client.on('close', () => {
      if (this.online && !this.closing) this.ctx.stats.error('disconnect');
      this.setOnline(false);
    });
    if (this.ctx.reconnect) {
      client.options.reconnectPeriod = 2000;
      // Sign again on every attempt: a platform may enforce a maximum clock skew on the timestamp (D2).
      client.on('reconnect', () => Object.assign(client.options, alinkCredentials(this.creds, mqttUrl)));
    }
  }

  private setOnline(on: boolean): void {
    if (on === this.online) return;
    this.online = on;
    this.ctx.stats.connected += on ? 1 : -1;
  }

  /** One paced post: an event (when asked and the TSL has any) or a property post. */
  post(event: boolean): void {
    if (event && this.events.length > 0) {
      const id = this.events[Math.floor(this.ctx.rng() * this.events.length)]!;
      const e = this.ctx.model.events.get(id)!;
      const params = { value: randomParams(e.outputData.values(), this.ctx.rng), time: Date.now() };
      this.send(`thing/event/${id}/post`, e.method, params, 'events');
      return;
    }
    const ids =
      this.ctx.propertiesPerPost === undefined
        ? this.properties
        : pickSome(this.properties, this.ctx.propertiesPerPost, this.ctx.rng);
    const params: Record<string, unknown> = {};
    for (const id of ids) {
      const p = this.ctx.model.properties.get(id)!;
      if (p.accessMode === 'r') this.values.set(id, randomValue(p.dataType, this.ctx.rng));
      params[id] = this.values.get(id);
    }
    this.send('thing/event/property/post', 'thing.event.property.post', params, 'properties');
  }

  private send(suffix: string, method: string, params: unknown, kind: SentKind): void {
    const client = this.client;
    if (!client) return;
    const id = String(this.nextId++);
    if (this.nextId > 4294967295) this.nextId = 1; // §3.1: id is 0..4294967295
    const payload = JSON.stringify({ id, version: '1.0', params, method });
    this.pending.set(id, performance.now());
    this.ctx.stats.sentByKind[kind]++;
    client.publish(this.base + suffix, payload, { qos: this.ctx.qos }, (err) => {
      if (err) {
        this.pending.delete(id);
        this.ctx.stats.error('publish');
      } else {
        this.ctx.stats.acked++;
      }
    });
  }

  /** Posts waiting longer than `timeoutMs` for their post_reply count as errors. */
  expire(now: number, timeoutMs: number): void {
    for (const [id, sentAt] of this.pending) {
      if (now - sentAt < timeoutMs) break; // insertion order = send order
      this.pending.delete(id);
      this.ctx.stats.error('replyTimeout');
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (!topic.startsWith(this.base)) return;
    const suffix = topic.slice(this.base.length);
    try {
      if (suffix.endsWith('/post_reply')) this.onPostReply(payload);
      else if (suffix.startsWith('rrpc/request/')) this.onRrpc(suffix.slice('rrpc/request/'.length), payload);
      else if (suffix === 'thing/service/property/set') this.onPropertySet(topic, payload);
      else if (suffix === 'thing/service/property/get') this.onPropertyGet(topic, payload);
      else if (suffix.startsWith('thing/service/') && !suffix.endsWith('_reply'))
        this.onAsyncService(topic, suffix.slice('thing/service/'.length), payload);
    } catch {
      this.ctx.stats.error('command');
    }
  }

  private onPostReply(payload: Buffer): void {
    const r = decodeReply(payload);
    if (!r.ok) {
      this.ctx.stats.error('command');
      return;
    }
    const sentAt = this.pending.get(r.value.id);
    if (sentAt === undefined) return; // already timed out
    this.pending.delete(r.value.id);
    this.ctx.stats.reply(r.value.code, performance.now() - sentAt);
  }

  private reply(topic: string, payload: Buffer | string, qos: 0 | 1 = this.ctx.qos): void {
    this.client?.publish(topic, payload, { qos }, (err) => {
      if (err) this.ctx.stats.error('publish');
    });
  }

  /** §3.4: apply, reply 200 on set_reply (or the first validation failure), then post the new values. */
  private onPropertySet(topic: string, payload: Buffer): void {
    const req = decodeRequest(payload);
    if (!req.ok) {
      this.ctx.stats.error('command');
      return;
    }
    const { id, idType, params } = req.value;
    const issue = validatePropertySet(this.ctx.model, params)[0];
    if (issue) {
      this.reply(`${topic}_reply`, encodeReply({ id, idType, code: issue.code, message: issue.message }));
      return;
    }
    const items = params as Record<string, unknown>;
    for (const [k, v] of Object.entries(items)) this.values.set(k, v);
    this.ctx.stats.commands.propertySets++;
    this.reply(`${topic}_reply`, encodeReply({ id, idType, code: 200, data: {} }));
    this.send('thing/event/property/post', 'thing.event.property.post', items, 'setPosts');
  }

  /** §3.5: params = identifiers; data = their current values. */
  private onPropertyGet(topic: string, payload: Buffer): void {
    const req = decodeRequest(payload);
    if (!req.ok) {
      this.ctx.stats.error('command');
      return;
    }
    const ids = Array.isArray(req.value.params)
      ? req.value.params.filter((x): x is string => typeof x === 'string')
      : this.properties;
    const data: Record<string, unknown> = {};
    for (const k of ids) if (this.values.has(k)) data[k] = this.values.get(k);
    this.ctx.stats.commands.propertyGets++;
    this.reply(`${topic}_reply`, encodeReply({ id: req.value.id, idType: req.value.idType, code: 200, data }));
  }

  /** A service reply: 200 with valid random outputData, or the first input issue's code. */
  private serviceReply(serviceId: string, req: { id: string; idType: 'string' | 'number'; params: unknown }): Buffer {
    const issue = validateServiceInput(this.ctx.model, serviceId, req.params ?? {})[0];
    if (issue) return encodeReply({ id: req.id, idType: req.idType, code: issue.code, message: issue.message });
    const service = this.ctx.model.services.get(serviceId)!;
    return encodeReply({
      id: req.id,
      idType: req.idType,
      code: 200,
      data: randomParams(service.outputData.values(), this.ctx.rng),
    });
  }

  private onAsyncService(topic: string, serviceId: string, payload: Buffer): void {
    const req = decodeRequest(payload);
    if (!req.ok) {
      this.ctx.stats.error('command');
      return;
    }
    this.ctx.stats.commands.asyncServices++;
    this.reply(`${topic}_reply`, this.serviceReply(serviceId, req.value));
  }

  /** D12: an Alink request for a service of the TSL is a sync service; anything else is raw RRPC, echoed. */
  private onRrpc(messageId: string, payload: Buffer): void {
    const responseTopic = `${this.base}rrpc/response/${messageId}`;
    const req = decodeRequest(payload);
    const method = req.ok ? req.value.method : undefined;
    const serviceId = method?.startsWith('thing.service.') ? method.slice('thing.service.'.length) : undefined;
    if (req.ok && serviceId !== undefined && this.ctx.model.services.has(serviceId)) {
      this.ctx.stats.commands.syncServices++;
      this.reply(responseTopic, this.serviceReply(serviceId, req.value), 0);
      return;
    }
    this.ctx.stats.commands.rrpcEchoes++;
    this.reply(responseTopic, payload, 0);
  }

  /** Ends the connection (DISCONNECT), forcing it after `timeoutMs`. */
  async close(timeoutMs = 2000): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.closing = true;
    client.options.reconnectPeriod = 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.endAsync(false).catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          client.end(true);
          resolve();
        }, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.setOnline(false);
  }
}
