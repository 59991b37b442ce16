import type { AlinkRequest } from '../domain/alink/envelope.ts';
import { validateEventPost } from '../domain/tsl/event-post.ts';
import { validatePropertyPost, type FailedItem, type PostedItem } from '../domain/tsl/property-post.ts';
import type { NewEvent } from '../events/types.ts';
import type { InboundMessage, Outbound, StepResult, TopicHandler } from './ingest.ts';
import type { DeviceRef } from './presence.ts';
import type { ProductCache } from './product-cache.ts';

/** The pieces of the thing-data handlers a pack post reuses (thing-data.ts). */
export interface PackPostDeps {
  products: ProductCache;
  subDevice?: ((gateway: DeviceRef, productKey: string, deviceName: string) => Promise<DeviceRef | { code: number; message: string }>) | undefined;
  envelope: (msg: InboundMessage, path: string[]) => { req: AlinkRequest; fail?: undefined } | { fail: StepResult; req?: undefined };
  reply: (msg: InboundMessage, req: Pick<AlinkRequest, 'id' | 'idType' | 'ack'>, code: number, data: unknown, message: string | undefined, method: string | undefined) => Outbound[];
  dedupeOf: (device: DeviceRef, req: AlinkRequest, msg: InboundMessage) => { deviceId: number; key: string; hash: string };
  propertyRows: (device: DeviceRef, items: Record<string, PostedItem>, failed: Record<string, FailedItem>, req: AlinkRequest, receivedAt: Date, history: boolean) => Pick<StepResult, 'events' | 'rows'>;
  sysPath: (topic: string) => string[];
}

export function createPackPostHandler(deps: PackPostDeps): TopicHandler {
  const { envelope, reply, dedupeOf, propertyRows, sysPath } = deps;
  /**
   * §3.9 pack post (`thing/event/property/pack/post`): a gateway posts its own properties and events and those of its
   * sub-devices in one message; at most 20 sub-devices (6356) and 200 items (6357). All or nothing: any failure
   * refuses the whole pack.
   */
  return async ({ device: gw, msg, receivedAt }) => {
    const env = envelope(msg, sysPath(msg.topic));
    if (env.fail) return env.fail;
    const { req } = env;
    const p = req.params as { properties?: unknown; events?: unknown; subDevices?: unknown } | null;
    const fail = (code: number, message: string) => ({ events: [], after: reply(msg, req, code, {}, message, req.method) });
    if (!p || typeof p !== 'object' || Array.isArray(p)) return fail(460, 'request parameter error: params must be an object');
    const subs = Array.isArray(p.subDevices) ? (p.subDevices as { identity?: { productKey?: string; deviceName?: string }; properties?: unknown; events?: unknown }[]) : [];
    if (subs.length > 20) return fail(6356, 'more than 20 sub-devices in one pack');
    const parts: { device: DeviceRef; properties: unknown; events: unknown }[] = [{ device: gw, properties: p.properties, events: p.events }];
    for (const sd of subs) {
      if (!deps.subDevice) return fail(460, 'sub-devices are not supported here');
      const r = await deps.subDevice(gw, String(sd.identity?.productKey ?? ''), String(sd.identity?.deviceName ?? ''));
      if ('code' in r) return fail(r.code, r.message);
      parts.push({ device: r, properties: sd.properties, events: sd.events });
    }
    const count = parts.reduce((n, x) => n + Object.keys((x.properties as object) ?? {}).length + Object.keys((x.events as object) ?? {}).length, 0);
    if (count > 200) return fail(6357, 'more than 200 items in one pack');
    const events: NewEvent[] = [];
    const rows: Required<StepResult>['rows'] = { propertyHistory: [], propertyLatest: [], eventHistory: [] };
    for (const part of parts) {
      const info = await deps.products.get(part.device.productKey);
      if (!info) return fail(6250, `product ${part.device.productKey} not found`);
      if (part.properties !== undefined) {
        const r = validatePropertyPost(info.model, part.properties, info.product.validationMode, receivedAt.getTime());
        if (!r.ok) return fail(r.code, r.message);
        const step = propertyRows(part.device, r.items, r.failed, req, receivedAt, false);
        events.push(...step.events);
        rows.propertyHistory!.push(...(step.rows?.propertyHistory ?? []));
        rows.propertyLatest!.push(...(step.rows?.propertyLatest ?? []));
      }
      for (const [id, ev] of Object.entries((part.events ?? {}) as Record<string, { value?: unknown; time?: unknown }>)) {
        const r = validateEventPost(info.model, id, { value: ev?.value ?? {}, ...(ev?.time !== undefined ? { time: ev.time } : {}) }, info.product.validationMode, receivedAt.getTime());
        if (!r.ok) return fail(r.code, r.message);
        const def = info.model.events.get(id);
        rows.eventHistory!.push({ deviceId: part.device.id, identifier: id, name: def?.name ?? id, eventType: def?.type ?? 'info', output: r.value, ts: new Date(r.time), receivedAt });
        events.push({
          type: 'thing.event.post',
          productKey: part.device.productKey,
          deviceName: part.device.deviceName,
          data: { identifier: id, name: def?.name ?? id, type: def?.type ?? 'info', iotId: part.device.iotId, requestId: req.id, productKey: part.device.productKey, deviceName: part.device.deviceName, gmtCreate: receivedAt.getTime(), value: r.value, time: r.time },
        });
      }
    }
    return { events, rows, dedupe: dedupeOf(gw, req, msg), after: reply(msg, req, 200, {}, undefined, req.method) };
  };
}
