import { isValidFilter, topicMatches } from '../domain/alink/topic-filter.ts';
import { DomainError } from '../domain/errors.ts';
import { MESSAGE_EVENT_TYPES, messageOf, messagePayload } from '../events/catalog.ts';
import type { StreamItem } from '../events/stream.ts';
import { builder } from './builder.ts';
import { ConnectionStatusEnum } from './common.ts';
import { dataStrings, dataTime, eventData as d, streamEventType, streamSubscription } from './stream-events.ts';

const s = (v: unknown) => (v == null ? null : String(v));

/** The views of a message event's payload, computed once per event (whichever subscribers and fields ask). */
const viewCache = new WeakMap<object, ReturnType<typeof payloadViews>>();
function views(i: StreamItem) {
  const data = d(i);
  let v = viewCache.get(data);
  if (!v) viewCache.set(data, (v = payloadViews(String(data.payload), messagePayload(data))));
  return v;
}

/** Payload views of graphql-api.md: base64 always, text when valid UTF-8, JSON when it parses. */
export function payloadViews(base64: string, decoded?: Buffer) {
  const bytes = decoded ?? Buffer.from(base64, 'base64');
  let text: string | null = null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = null;
  }
  let json: unknown = null;
  if (text !== null) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  return { base64, text, json };
}

const OfflineReasonEnum = builder.enumType('OfflineReason', {
  description: 'alink-protocol.md D15: why a device went offline.',
  values: [
    'CLIENT_DISCONNECT',
    'KEEPALIVE_TIMEOUT',
    'TAKEN_OVER',
    'KICKED',
    'SERVER_SHUTDOWN',
    'SERVER_RESTART',
  ] as const,
});

const DeviceStatusEventRef = streamEventType('DeviceStatusEvent', {
  description: 'alink-protocol.md §6.3 and D15 (`/as/mqtt/status/${productKey}/${deviceName}`).',
  types: ['device.status'],
  fields: (t) => ({
    ...dataStrings(t, 'iotId', 'productKey', 'deviceName'),
    status: t.field({ type: ConnectionStatusEnum, resolve: (i) => (d(i).status === 'online' ? 'ONLINE' : 'OFFLINE') }),
    time: dataTime(t, 'time', 'When the event was produced.'),
    lastTime: dataTime(t, 'lastTime', 'When the status changed (order by this).'),
    clientIp: t.string({ nullable: true, resolve: (i) => s(d(i).clientIp) }),
    connectionEpoch: t.int({ resolve: (i) => Number(d(i).connectionEpoch) }),
    reason: t.field({
      type: OfflineReasonEnum,
      nullable: true,
      resolve: (i) => (d(i).reason ?? null) as 'KICKED' | null,
    }),
  }),
});

const DeviceMessageRef = streamEventType('DeviceMessage', {
  description: 'An upstream publish a device made and the platform accepted (custom topics are opaque bytes).',
  types: ['device.message'],
  fields: (t) => ({
    ...dataStrings(t, 'messageId', 'topic', 'productKey', 'deviceName', 'iotId'),
    qos: t.int({ resolve: (i) => Number(d(i).qos) }),
    payloadBase64: t.string({ resolve: (i) => String(d(i).payload) }),
    payloadText: t.string({ nullable: true, resolve: (i) => views(i).text }),
    payloadJson: t.field({ type: 'JSON', nullable: true, resolve: (i) => views(i).json }),
    receivedAt: dataTime(t, 'receivedAt'),
  }),
});

streamSubscription('deviceStatusChanged', {
  type: DeviceStatusEventRef,
  description: 'Devices going online and offline, in commit order. Resumable with `after`.',
  types: ['device.status'],
  byDevice: true,
});

builder.subscriptionFields((t) => ({
  deviceMessages: t.field({
    type: DeviceMessageRef,
    description:
      'Every upstream device publish, filtered by product, device and an MQTT topic filter. Resumable with `after`.',
    args: {
      productKey: t.arg.string(),
      deviceName: t.arg.string(),
      topicFilter: t.arg.string(),
      after: t.arg.string(),
    },
    subscribe: (_r, args, ctx) => {
      const filter = args.topicFilter;
      if (filter != null && !isValidFilter(filter)) {
        throw new DomainError('INVALID_TOPIC_FILTER', `"${filter}" is not a valid MQTT topic filter`, ['topicFilter']);
      }
      return ctx.services.streams.open(ctx.principal, {
        // A property post carries its publish (store once): both kinds are messages.
        types: [...MESSAGE_EVENT_TYPES],
        productKey: args.productKey,
        deviceName: args.deviceName,
        after: args.after,
        where: (e) => {
          const m = messageOf(e);
          return m !== null && (filter == null || topicMatches(filter, String(m.topic)));
        },
      });
    },
    // Seen as the DeviceMessage it carries.
    resolve: (i) =>
      i.event.type === 'device.message'
        ? i
        : {
            ...i,
            event: {
              ...i.event,
              type: 'device.message' as const,
              data: messageOf(i.event)! as Record<string, unknown>,
            },
          },
  }),
}));
