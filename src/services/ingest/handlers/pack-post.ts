import { ALINK } from '../../../domain/alink/codes.ts';
import { validateEventPost } from '../../../domain/tsl/event-post.ts';
import { validatePropertyPost } from '../../../domain/tsl/property-post.ts';
import type { NewEvent } from '../../../events/types.ts';
import type { DeviceIdentity } from '../../presence.ts';
import type { ProductCache } from '../../product-cache.ts';
import { decodeAlink, dedupeKey } from '../decode.ts';
import type { EventRow, HistoryRow } from '../sinks.ts';
import type { UplinkHandler } from '../types.ts';
import { answer, eventRecord, propertyRows } from './thing-data.ts';

export interface PackPostDeps {
  products: ProductCache;
  /** A gateway's bound sub-device (§3.9, §3.10 codes). */
  subDevice: (
    gateway: DeviceIdentity,
    productKey: string,
    deviceName: string,
  ) => Promise<DeviceIdentity | { code: number; message: string }>;
}

/**
 * §3.9 pack post (`thing/event/property/pack/post`): a gateway posts its own properties and events and those of its
 * sub-devices in one message; at most 20 sub-devices (6356) and 200 items (6357). All or nothing: any failure
 * refuses the whole pack.
 */
export function createPackPostHandler(deps: PackPostDeps): UplinkHandler<'propertyPackPost'> {
  return async (gw, request) => {
    const env = decodeAlink(request);
    if (env.fail) return env.fail;
    const { req } = env;
    const { receivedAt } = request;
    const p = req.params as { properties?: unknown; events?: unknown; subDevices?: unknown } | null;
    const fail = (code: number, message: string) => answer(request, req, code, message);
    if (!p || typeof p !== 'object' || Array.isArray(p))
      return fail(ALINK.PARAM_ERROR, 'request parameter error: params must be an object');
    const subs = Array.isArray(p.subDevices)
      ? (p.subDevices as {
          identity?: { productKey?: string; deviceName?: string };
          properties?: unknown;
          events?: unknown;
        }[])
      : [];
    if (subs.length > 20) return fail(ALINK.PACK_TOO_MANY_SUBDEVICES, 'more than 20 sub-devices in one pack');
    const parts: { device: DeviceIdentity; properties: unknown; events: unknown }[] = [
      { device: gw, properties: p.properties, events: p.events },
    ];
    for (const sd of subs) {
      const r = await deps.subDevice(gw, String(sd.identity?.productKey ?? ''), String(sd.identity?.deviceName ?? ''));
      if ('code' in r) return fail(r.code, r.message);
      parts.push({ device: r, properties: sd.properties, events: sd.events });
    }
    const count = parts.reduce(
      (n, x) => n + Object.keys((x.properties as object) ?? {}).length + Object.keys((x.events as object) ?? {}).length,
      0,
    );
    if (count > 200) return fail(ALINK.PACK_TOO_MANY_ITEMS, 'more than 200 items in one pack');
    const events: NewEvent[] = [];
    const rows = { propertyHistory: [] as HistoryRow[], eventHistory: [] as EventRow[] };
    for (const part of parts) {
      const info = await deps.products.get(part.device.productKey);
      if (!info) return fail(ALINK.PRODUCT_NOT_FOUND, `product ${part.device.productKey} not found`);
      if (part.properties !== undefined) {
        const r = validatePropertyPost(info.model, part.properties, info.product.validationMode, receivedAt.getTime());
        if (!r.ok) return fail(r.code, r.message);
        const step = propertyRows(part.device, r.items, r.failed, req, receivedAt, false);
        events.push(...step.events);
        rows.propertyHistory.push(...step.rows.propertyHistory);
      }
      for (const [id, ev] of Object.entries(
        (part.events ?? {}) as Record<string, { value?: unknown; time?: unknown }>,
      )) {
        const r = validateEventPost(
          info.model,
          id,
          { value: ev?.value ?? {}, ...(ev?.time !== undefined ? { time: ev.time } : {}) },
          info.product.validationMode,
          receivedAt.getTime(),
        );
        if (!r.ok) return fail(r.code, r.message);
        const rec = eventRecord(part.device, info.model, id, r.value, r.time, req, receivedAt);
        rows.eventHistory.push(rec.row);
        events.push(rec.event);
      }
    }
    return { events, rows, dedupe: dedupeKey(gw, req, request), ...answer(request, req, ALINK.SUCCESS) };
  };
}
