import { ALINK } from '../../../domain/alink/codes.ts';
import type { AlinkRequest } from '../../../domain/alink/envelope.ts';
import { validateEventPost } from '../../../domain/tsl/event-post.ts';
import { validatePropertyPost, type FailedItem, type PostedItem } from '../../../domain/tsl/property-post.ts';
import type { ThingModel } from '../../../domain/tsl/types.ts';
import { platformEvent } from '../../../events/catalog.ts';
import type { NewEvent } from '../../../events/types.ts';
import type { DeviceIdentity } from '../../presence.ts';
import type { ProductCache, ProductInfo } from '../../product-cache.ts';
import { decodeAlink, dedupeKey } from '../decode.ts';
import { alinkReply } from '../reply.ts';
import type { EventRow, HistoryRow } from '../sinks.ts';
import type { Handled, UplinkHandler, UplinkRequest } from '../types.ts';

const numeric = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : null;

const failureData = (failed: Record<string, FailedItem | { message: string }>) =>
  Object.fromEntries(Object.entries(failed).map(([id, f]) => [id, f.message]));

const isEmptyModel = (m: ThingModel) => m.properties.size === 0 && [...m.events.keys()].every((k) => k === 'post');

/** A request taken: what it stores, deduplicated by its id, answered 200 with the items that failed validation. */
const accepted = (
  device: DeviceIdentity,
  request: UplinkRequest,
  req: AlinkRequest,
  failed: Record<string, FailedItem | { message: string }>,
  stored: Pick<Handled, 'events' | 'rows'>,
): Handled => ({
  ...stored,
  dedupe: dedupeKey(device, req, request),
  ...answer(request, req, ALINK.SUCCESS, undefined, failureData(failed)),
});

/** An answer with nothing to store but the message itself. */
export const answer = (
  request: UplinkRequest,
  req: AlinkRequest,
  code: number,
  message?: string,
  data: unknown = {},
): Handled => ({
  replies: alinkReply(request, req, { code, data, message, method: req.method }),
});

/** History rows, latest-value rows and the forwarding-shaped event (§6.4, §6.10) of validated property items. */
export function propertyRows(
  device: DeviceIdentity,
  items: Record<string, PostedItem>,
  failed: Record<string, FailedItem>,
  req: AlinkRequest,
  receivedAt: Date,
  history: boolean,
  allItems: Record<string, PostedItem>[] = [items],
): { events: NewEvent[]; rows: { propertyHistory: HistoryRow[] } } {
  const historyRows: HistoryRow[] = [];
  const r = receivedAt.getTime();
  for (const set of allItems) {
    for (const [identifier, it] of Object.entries(set)) {
      // The latest value and the hourly rollup come from the same rows (sinks.ts).
      historyRows.push({ d: device.id, i: identifier, t: it.time, r, v: it.value, n: numeric(it.value) });
    }
  }
  const events: NewEvent[] =
    historyRows.length > 0 || Object.keys(failed).length > 0
      ? [
          // alink-protocol.md §6.4 (and §6.10 for history posts)
          platformEvent(history ? 'thing.property.history.post' : 'thing.property.post', device, {
            iotId: device.iotId,
            requestId: req.id,
            productKey: device.productKey,
            deviceName: device.deviceName,
            gmtCreate: receivedAt.getTime(),
            items,
            checkFailedData: failed,
          }),
        ]
      : [];
  return { events, rows: { propertyHistory: historyRows } };
}

/** An event row and its forwarding-shaped event (§6.5). */
export function eventRecord(
  device: DeviceIdentity,
  model: ThingModel,
  eventId: string,
  value: unknown,
  time: number,
  req: AlinkRequest,
  receivedAt: Date,
  failed?: unknown,
): { row: EventRow; event: NewEvent } {
  const def = model.events.get(eventId);
  const type = def?.type ?? 'info';
  const name = def?.name ?? eventId;
  return {
    row: {
      deviceId: device.id,
      identifier: eventId,
      name,
      eventType: type,
      output: value,
      ts: new Date(time),
      receivedAt,
    },
    event: platformEvent('thing.event.post', device, {
      identifier: eventId,
      name,
      type,
      iotId: device.iotId,
      requestId: req.id,
      productKey: device.productKey,
      deviceName: device.deviceName,
      gmtCreate: receivedAt.getTime(),
      value,
      time,
      ...(failed !== undefined ? { checkFailedData: failed } : {}),
    }),
  };
}

/**
 * Upstream TSL messages (alink-protocol.md §3.3, §3.6, §3.9 history post; D9-D11): decode, check the method,
 * validate against the product's thing model in its validation mode, then history rows, the forwarding-shaped
 * events (§6.4, §6.5) and the `_reply`, sent only after the commit. CUSTOM-format products: opaque (§3.8), stored
 * as the message only.
 */
export function createThingDataHandlers(deps: { products: ProductCache }) {
  /**
   * The product and the decoded request of a thing-model uplink; `done` instead: what to return at once (null for a
   * CUSTOM-format product, whose messages are opaque; the reply to an unusable request).
   */
  async function thingRequest(
    device: DeviceIdentity,
    request: UplinkRequest,
  ): Promise<{ info: ProductInfo; req: AlinkRequest; done?: undefined } | { done: Handled | null }> {
    const info = await deps.products.get(device.productKey);
    if (!info || info.product.dataFormat === 'CUSTOM') return { done: null };
    const env = decodeAlink(request);
    if (env.fail) return { done: env.fail };
    return { info, req: env.req };
  }

  const propertyPost: UplinkHandler<'propertyPost'> = async (device, request) => {
    const t = await thingRequest(device, request);
    if (t.done !== undefined) return t.done;
    const { info, req } = t;
    const mode = info.product.validationMode;
    if (mode !== 'NONE' && isEmptyModel(info.model))
      return answer(
        request,
        req,
        ALINK.TSL_IDENTIFIER_NOT_IN_PRODUCT,
        'tsl: the product has no thing model; define one with setThingModel',
      );
    const r = validatePropertyPost(info.model, req.params, mode, request.receivedAt.getTime());
    if (!r.ok) return answer(request, req, r.code, r.message);
    const step = propertyRows(device, r.items, r.failed, req, request.receivedAt, false);
    return accepted(device, request, req, r.failed, step);
  };

  const eventPost: UplinkHandler<'eventPost'> = async (device, request) => {
    const t = await thingRequest(device, request);
    if (t.done !== undefined) return t.done;
    const { info, req } = t;
    const eventId = request.uplink.eventId;
    const r = validateEventPost(
      info.model,
      eventId,
      req.params,
      info.product.validationMode,
      request.receivedAt.getTime(),
    );
    if (!r.ok) return answer(request, req, r.code, r.message);
    const { row, event } = eventRecord(device, info.model, eventId, r.value, r.time, req, request.receivedAt, r.failed);
    return accepted(device, request, req, r.failed, {
      events: [event],
      rows: { eventHistory: [row] },
    });
  };

  /** §3.9 history post: `params: [{identity: {productKey, deviceName}, properties: [{Id: {value, time}}], events: [...]}]`. */
  const historyPost: UplinkHandler<'propertyHistoryPost'> = async (device, request) => {
    const t = await thingRequest(device, request);
    if (t.done !== undefined) return t.done;
    const { info, req } = t;
    const { receivedAt } = request;
    const entries = req.params;
    if (!Array.isArray(entries))
      return answer(request, req, ALINK.PARAM_ERROR, 'request parameter error: params must be an array');
    const items: Record<string, PostedItem>[] = [];
    const failed: Record<string, FailedItem> = {};
    const events: { id: string; value: unknown; time: unknown }[] = [];
    for (const [i, entry] of entries.entries()) {
      const e = entry as {
        identity?: { productKey?: string; deviceName?: string };
        properties?: unknown;
        events?: unknown;
      };
      if (e?.identity && (e.identity.productKey !== device.productKey || e.identity.deviceName !== device.deviceName)) {
        return answer(request, req, ALINK.DEVICE_NOT_FOUND, `params[${i}].identity is not this device`);
      }
      for (const p of Array.isArray(e?.properties) ? e.properties : []) {
        const r = validatePropertyPost(info.model, p, info.product.validationMode, receivedAt.getTime());
        if (!r.ok) return answer(request, req, r.code, r.message);
        items.push(r.items);
        Object.assign(failed, r.failed);
      }
      for (const ev of Array.isArray(e?.events) ? e.events : []) {
        for (const [id, v] of Object.entries((ev ?? {}) as Record<string, { value?: unknown; time?: unknown }>))
          events.push({ id, value: v?.value, time: v?.time });
      }
    }
    const merged = propertyRows(
      device,
      Object.assign({}, ...items) as Record<string, PostedItem>,
      failed,
      req,
      receivedAt,
      true,
      items,
    );
    const eventRows: EventRow[] = [];
    for (const ev of events) {
      const r = validateEventPost(
        info.model,
        ev.id,
        { value: ev.value ?? {}, ...(ev.time !== undefined ? { time: ev.time } : {}) },
        info.product.validationMode,
        receivedAt.getTime(),
      );
      if (!r.ok) return answer(request, req, r.code, r.message);
      eventRows.push(eventRecord(device, info.model, ev.id, r.value, r.time, req, receivedAt).row);
    }
    return accepted(device, request, req, failed, {
      events: merged.events,
      rows: { ...merged.rows, eventHistory: eventRows },
    });
  };

  return { propertyPost, eventPost, historyPost };
}
