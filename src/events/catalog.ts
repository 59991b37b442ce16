/**
 * Every platform event type and the shape of its `data` (the reference's forwarding shapes, alink-protocol.md §6).
 * The stored JSON is exactly these objects, so these types describe the log as it is (no migration). Readers narrow
 * by `type` (hub.on(type, ...), `isEvent`) and read typed fields; nothing re-decodes the message payload twice
 * (`messagePayload`).
 */
type Device = { iotId: string; productKey: string; deviceName: string };
type DeviceIds = { productKey: string; deviceName: string; iotId: string | null };

export type DeviceLifecycleData = Device & {
  action: 'create' | 'delete' | 'enable' | 'disable';
  messageCreateTime: number;
};
export type DeviceStatusData = Device & {
  status: 'online' | 'offline';
  time: number;
  lastTime: number;
  utcTime: string;
  utcLastTime: string;
  clientIp: string | null;
  connectionEpoch: number;
  reason: string | null;
};
export type DeviceMessageData = Device & {
  messageId: string;
  topic: string;
  qos: number;
  retain: boolean;
  payload: string;
  receivedAt: number;
};
export type RegistryChangedData = {
  entity: 'product' | 'topic' | 'device' | 'apiKey' | 'accessKey' | 'consumerGroup' | 'rule' | 'topicRoute';
  what: string;
} & Record<string, unknown>;
export type PropertyPostData = Device & {
  requestId: string;
  gmtCreate: number;
  items: Record<string, { value: unknown; time: number }>;
  checkFailedData: Record<string, unknown>;
  /**
   * The publish itself (store once, docs/uplink-pipeline.md): a property post is ONE event carrying its parsed items
   * and the message (what deviceMessages and forwarding of the raw publish need), not a `device.message` besides it.
   */
  message?: DeviceMessageData;
};
export type EventPostData = Device & {
  identifier: string;
  name: string;
  type: string;
  requestId: string;
  gmtCreate: number;
  value: unknown;
  time: number;
  checkFailedData?: unknown;
};
export type CommandSentData = {
  messageId: string;
  kind: string;
  productKey: string;
  deviceName: string | null;
  topic: string;
  identifier: string | null;
  status: 'SENT' | 'OFFLINE';
};
export type CommandReplyData = Device & {
  requestId: string;
  topic: string;
  payload: string;
  code: number | null;
  data: unknown;
  gmtCreate: number;
};
export type DownlinkReplyData = Omit<Device, never> & {
  gmtCreate: number;
  requestId: string | null;
  code: number;
  message: string;
  topic: string;
  data: unknown;
  payload?: string;
};
export type TopoLifecycleData = {
  action: 'add' | 'remove' | 'enable' | 'disable';
  gwIotId: string;
  gwProductKey: string;
  gwDeviceName: string;
  devices: DeviceIds[];
  messageCreateTime: number;
};
export type ListFoundData = { gwIotId: string; gwProductKey: string; gwDeviceName: string; devices: DeviceIds[] };
export type DeviceInfoData = Device & { value: unknown; messageCreateTime: number };
export type OtaProgressData = Device &
  Record<string, unknown> & { status: string; jobId: string; taskId: string; messageCreateTime: number };
export type OtaVersionData = Device & { moduleName: string; moduleVersion: string; messageCreateTime: number };
export type OtaJobStatusData = {
  productKey: string;
  packageId: string;
  jobId: string;
  status: string;
  messageCreateTime: number;
};
/** A write of the device shadow (alink-protocol.md §2.4, services/device-shadow.ts), by the device or the cloud. */
export type DeviceShadowData = Device & {
  source: 'device' | 'cloud';
  method: string;
  version: number;
  state: Record<string, unknown>;
  metadata: Record<string, unknown>;
  gmtCreate: number;
};

export type EventDataMap = {
  'device.lifecycle': DeviceLifecycleData;
  'device.status': DeviceStatusData;
  'device.message': DeviceMessageData;
  'registry.changed': RegistryChangedData;
  'thing.property.post': PropertyPostData;
  'thing.property.history.post': PropertyPostData;
  'thing.event.post': EventPostData;
  'thing.deviceinfo.update': DeviceInfoData;
  'thing.deviceinfo.delete': DeviceInfoData;
  'thing.topo.lifecycle': TopoLifecycleData;
  'thing.list.found': ListFoundData;
  'thing.downlink.reply': DownlinkReplyData;
  'command.sent': CommandSentData;
  'command.reply': CommandReplyData;
  'ota.progress': OtaProgressData;
  'ota.upgrade': OtaProgressData;
  'ota.version': OtaVersionData;
  'ota.job.status': OtaJobStatusData;
  'device.shadow': DeviceShadowData;
};

export type PlatformEventType = keyof EventDataMap;
export const PLATFORM_EVENT_TYPES = [
  'device.lifecycle',
  'device.status',
  'device.message',
  'registry.changed',
  'thing.property.post',
  'thing.property.history.post',
  'thing.event.post',
  'thing.deviceinfo.update',
  'thing.deviceinfo.delete',
  'thing.topo.lifecycle',
  'thing.list.found',
  'thing.downlink.reply',
  'command.sent',
  'command.reply',
  'ota.progress',
  'ota.upgrade',
  'ota.version',
  'ota.job.status',
  'device.shadow',
] as const satisfies readonly PlatformEventType[];

/** An event as appended to the log, before it has a position. */
export interface NewEvent {
  type: PlatformEventType;
  productKey?: string | null;
  deviceName?: string | null;
  data: Record<string, unknown>;
}

/** An event as committed: with its log position and commit time. */
export interface StoredEvent extends NewEvent {
  position: number;
  createdAt: Date;
}

/** An event of one type, as built (before it is stored). */
export type TypedEvent<T extends PlatformEventType = PlatformEventType> = {
  [K in T]: { type: K; productKey?: string | null; deviceName?: string | null; data: EventDataMap[K] };
}[T];

/** The same, committed: with its log position. */
export type StoredOf<T extends PlatformEventType = PlatformEventType> = TypedEvent<T> & {
  position: number;
  createdAt: Date;
};

/** The discriminated union of every platform event as stored. */
export type PlatformEvent = StoredOf;

export function isEvent<T extends PlatformEventType>(e: StoredEvent, type: T): e is StoredEvent & StoredOf<T> {
  return e.type === type;
}

/** Build an event of a known type; the data must have that type's shape. */
export function platformEvent<T extends PlatformEventType>(
  type: T,
  owner: { productKey?: string | null; deviceName?: string | null },
  data: EventDataMap[T],
): NewEvent {
  return {
    type,
    productKey: owner.productKey ?? null,
    deviceName: owner.deviceName ?? null,
    data: data as Record<string, unknown>,
  };
}

const payloads = new WeakMap<object, Buffer>();

/**
 * The raw payload of a `device.message` event, decoded from base64 once per event whoever reads it (GraphQL,
 * rules, topic routes); the ingest pipeline seeds it with the bytes it received, so local events are never decoded.
 */
export function messagePayload(data: DeviceMessageData | Record<string, unknown>): Buffer {
  let b = payloads.get(data);
  if (!b) {
    b = Buffer.from(String(data.payload ?? ''), 'base64');
    payloads.set(data, b);
  }
  return b;
}

/**
 * The publish an event carries: a `device.message` is one, a property post folds its message in (`data.message`).
 * null for every other event.
 */
export function messageOf(e: { type: string; data: Record<string, unknown> }): DeviceMessageData | null {
  if (e.type === 'device.message') return e.data as DeviceMessageData;
  if (e.type === 'thing.property.post' && e.data.message && typeof e.data.message === 'object')
    return e.data.message as DeviceMessageData;
  return null;
}

/** The event types that can carry a device publish (see `messageOf`). */
export const MESSAGE_EVENT_TYPES = ['device.message', 'thing.property.post'] as const;

/** Seed the decoded payload of a message event built from bytes in hand. */
export function withPayload<D extends object>(data: D, payload: Buffer): D {
  payloads.set(data, payload);
  return data;
}

/** `registry.changed`: caches on every instance drop what changed (product, topic category, device secret, key...). */
export function registryChanged(
  entity: RegistryChangedData['entity'],
  what: string,
  extra: Record<string, unknown> = {},
  owner: { productKey?: string | null; deviceName?: string | null } = {},
): NewEvent {
  return platformEvent('registry.changed', owner, { entity, what, ...extra });
}
