import { toForwardingMessage, type LogEvent } from '../rules/forwarding.ts';

/** cloud-api.md §7.3: the message types a subscribe relation lists (`ServerSubscriptionType`). */
export const SERVER_SUBSCRIPTION_TYPES = [
  'DEVICE_DATA',
  'DEVICE_STATUS',
  'DEVICE_LIFECYCLE',
  'DEVICE_TOPO_LIFECYCLE',
  'FOUND_DEVICE_LIST',
  'THING_HISTORY',
  'OTA_EVENT',
  'OTA_VERSION',
  'OTA_JOB',
  'DEVICE_TAG',
] as const;

export type ServerSubscriptionType = (typeof SERVER_SUBSCRIPTION_TYPES)[number];

/** Event-log types behind each message type (§7.3 table). */
export const EVENT_TYPES_OF: Record<ServerSubscriptionType, readonly string[]> = {
  DEVICE_DATA: ['device.message', 'thing.property.post', 'thing.event.post', 'thing.downlink.reply'],
  DEVICE_STATUS: ['device.status'],
  DEVICE_LIFECYCLE: ['device.lifecycle'],
  DEVICE_TOPO_LIFECYCLE: ['thing.topo.lifecycle'],
  FOUND_DEVICE_LIST: ['thing.list.found'],
  THING_HISTORY: ['thing.property.history.post'],
  OTA_EVENT: ['ota.upgrade', 'ota.progress'],
  OTA_VERSION: ['ota.version'],
  OTA_JOB: ['ota.job.status'],
  DEVICE_TAG: ['thing.deviceinfo.update'],
};

const TYPE_OF_EVENT = new Map<string, ServerSubscriptionType>(
  SERVER_SUBSCRIPTION_TYPES.flatMap((t) => EVENT_TYPES_OF[t].map((e) => [e, t] as const)),
);

export const SUBSCRIBABLE_EVENT_TYPES: readonly string[] = [...TYPE_OF_EVENT.keys()];

/** The message type of an event, or null when no subscription carries it (TSL traffic is carried in its parsed form). */
export function subscriptionTypeOf(e: { type: string; data: Record<string, unknown> }): ServerSubscriptionType | null {
  if (e.type === 'device.message' && String(e.data.topic).startsWith('/sys/')) return null;
  return TYPE_OF_EVENT.get(e.type) ?? null;
}

/** What goes on the wire for one event (§7.3): the bytes, the topic, the messageId (the event position) and the time. */
export interface AmqpMessageContent {
  messageId: string;
  topic: string;
  body: Buffer;
  generateTime: number;
}

export function toAmqpMessage(e: LogEvent): AmqpMessageContent | null {
  const m = toForwardingMessage(e);
  if (!m) return null;
  // §7.3 / §10: the messageId is the event position (device message ids are another sequence and can collide).
  return {
    messageId: String(e.position),
    topic: m.topic,
    body: m.raw,
    generateTime: Number.isFinite(m.timestamp) ? m.timestamp : e.createdAt.getTime(),
  };
}
