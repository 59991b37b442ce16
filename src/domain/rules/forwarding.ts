import { formatTime } from './functions.ts';

/**
 * The messages rules and topic routes see: platform events in the reference's forwarding shapes, on their
 * forwarding topics (alink-protocol.md §5.5: TSL topics without the `/sys` prefix; §6.3-6.7, §6.13).
 */
export interface ForwardingMessage {
  topic: string;
  /** The body as bytes: the device payload for custom topics, JSON for platform shapes. */
  raw: Buffer;
  json: unknown;
  productKey: string | null;
  deviceName: string | null;
  messageId: string;
  timestamp: number;
}

export interface LogEvent {
  position: number;
  type: string;
  productKey?: string | null;
  deviceName?: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
}

/** Event types that produce forwarding messages. */
export const FORWARDED_TYPES = [
  'device.message',
  'device.status',
  'device.lifecycle',
  'thing.property.post',
  'thing.property.history.post',
  'thing.event.post',
  'thing.downlink.reply',
  'thing.topo.lifecycle',
  'thing.list.found',
  'thing.deviceinfo.update',
  'ota.upgrade',
  'ota.progress',
  'ota.version',
  'ota.job.status',
] as const;

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
}

const jsonMessage = (e: LogEvent, topic: string, body: Record<string, unknown>): ForwardingMessage => {
  const raw = Buffer.from(JSON.stringify(body));
  return {
    topic,
    raw,
    json: body,
    productKey: e.productKey ?? null,
    deviceName: e.deviceName ?? null,
    messageId: String(e.position),
    timestamp: e.createdAt.getTime(),
  };
};

/** `2018-08-31 15:32:28.205`: the reference's status times are Beijing time strings (alink-protocol.md §6.3). */
const beijing = (v: unknown): unknown =>
  typeof v === 'number' && Number.isFinite(v) ? formatTime(v, 'yyyy-MM-dd HH:mm:ss.SSS', 480) : v;

/**
 * §6.3 status body (plus D15's iotId, connectionEpoch and reason). The event log keeps `time`/`lastTime` as epoch ms
 * (GraphQL shows them as ISO-8601); rules see them as the reference sends them, with `utcTime`/`utcLastTime` beside.
 */
function statusBody(d: Record<string, unknown>): Record<string, unknown> {
  return { ...d, time: beijing(d.time), lastTime: beijing(d.lastTime) };
}

/**
 * The device a forwarding topic is about: `/${pk}/${dn}/...` or `/as/mqtt/status/${pk}/${dn}` (re-driving a dead letter
 * fills `${productKey}`/`${deviceName}` placeholders from its topic).
 */
export function sourceOfTopic(topic: string): { productKey: string | null; deviceName: string | null } {
  const levels = topic.split('/');
  const [pk, dn] = topic.startsWith('/as/mqtt/status/') ? [levels[4], levels[5]] : [levels[1], levels[2]];
  return { productKey: pk || null, deviceName: dn || null };
}

/** null for events rules do not see (and for TSL posts, which are seen in their parsed shape instead). */
export function toForwardingMessage(
  e: LogEvent,
  payloadOf: (data: Record<string, unknown>) => Buffer = (d) => Buffer.from(String(d.payload), 'base64'),
): ForwardingMessage | null {
  const pk = e.productKey ?? '';
  const dn = e.deviceName ?? '';
  const d = e.data;
  switch (e.type) {
    case 'device.message': {
      const topic = String(d.topic);
      // TSL traffic is forwarded in its parsed forms below; only custom (and other non-/sys/) topics are raw.
      if (topic.startsWith('/sys/')) return null;
      const raw = payloadOf(d);
      return {
        topic,
        raw,
        json: parseJson(raw),
        productKey: pk,
        deviceName: dn,
        messageId: String(d.messageId),
        timestamp: Number(d.receivedAt),
      };
    }
    case 'thing.property.post': {
      // The folded publish (store once) is not part of the §6.4 forwarding shape.
      const { message: _message, ...body } = d;
      return jsonMessage(e, `/${pk}/${dn}/thing/event/property/post`, body);
    }
    case 'thing.property.history.post':
      return jsonMessage(e, `/${pk}/${dn}/thing/event/property/history/post`, d);
    case 'thing.event.post':
      return jsonMessage(e, `/${pk}/${dn}/thing/event/${String(d.identifier)}/post`, d);
    case 'thing.downlink.reply': {
      const { payload: _raw, ...body } = d;
      return jsonMessage(e, `/${pk}/${dn}/thing/downlink/reply/message`, body);
    }
    case 'device.lifecycle':
      return jsonMessage(e, `/${pk}/${dn}/thing/lifecycle`, d);
    case 'device.status':
      return jsonMessage(e, `/as/mqtt/status/${pk}/${dn}`, statusBody(d));
    // §6.8, §6.9, §6.11, §6.12
    case 'thing.topo.lifecycle':
      return jsonMessage(e, `/${pk}/${dn}/thing/topo/lifecycle`, d);
    case 'thing.list.found':
      return jsonMessage(e, `/${pk}/${dn}/thing/list/found`, d);
    case 'thing.deviceinfo.update':
      return jsonMessage(e, `/${pk}/${dn}/thing/deviceinfo/update`, d);
    case 'ota.upgrade':
      return jsonMessage(e, `/${pk}/${dn}/ota/upgrade`, d);
    case 'ota.progress':
      return jsonMessage(e, `/${pk}/${dn}/ota/progress/post`, d);
    case 'ota.version':
      return jsonMessage(e, `/${pk}/${dn}/ota/version/post`, d);
    case 'ota.job.status':
      return jsonMessage(e, `/${pk}/${String(d.packageId)}/${String(d.jobId)}/ota/job/status`, d);
    default:
      return null;
  }
}
