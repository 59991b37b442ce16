import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { decodeRequest, encodeReply, type AlinkRequest } from '../domain/alink/envelope.ts';
import { checkRequestMethod } from '../domain/alink/method.ts';
import { parseTopic, replyTopic } from '../domain/alink/topics.ts';
import { validateEventPost } from '../domain/tsl/event-post.ts';
import { validatePropertyPost, type FailedItem, type PostedItem } from '../domain/tsl/property-post.ts';
import type { ThingModel } from '../domain/tsl/types.ts';
import { eventHistory, ingestDedupe, propertyHistory, propertyLatest } from '../db/tables.ts';
import { query, type Tx } from '../db/client.ts';
import type { GroupCommitter } from '../events/committer.ts';
import type { NewEvent } from '../events/types.ts';
import type { InboundMessage, Outbound, StepResult, TopicHandler } from './ingest.ts';
import type { DeviceRef } from './presence.ts';
import type { ProductCache } from './product-cache.ts';
import { createPackPostHandler } from './thing-data-pack.ts';

type HistoryRow = typeof propertyHistory.$inferInsert;
type LatestRow = typeof propertyLatest.$inferInsert;
type EventRow = typeof eventHistory.$inferInsert;

/** alink-protocol.md §3.3: at most 200 properties per post; each sink statement stays well below PG's parameter cap. */
const CHUNK = 2000;
/** A resent request (same device, id and payload) within this window is recognised as a duplicate. */
export const DEDUPE_WINDOW = '1 hour';

const numeric = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : null;

/**
 * A property value as a jsonb parameter that both drivers take for every JSON value. Passing the value itself fails
 * for two kinds of top-level values that NONE mode stores as sent: a JSON `null` (drizzle sends SQL NULL, refused by
 * the NOT NULL column) and, on postgres.js, a boolean or an array starting with one (sent typed as `boolean`:
 * "column value is of type jsonb but expression is of type boolean"). Either failed the whole commit, and the
 * device's resend failed again. The text cast keeps postgres.js from JSON-encoding the string a second time.
 */
const jsonb = (v: unknown): object => sql`${JSON.stringify(v)}::text::jsonb` as unknown as object;

/**
 * PostgreSQL text and jsonb cannot hold U+0000 (SQLSTATE 22P05). A request carrying it anywhere (id, identifier,
 * value) would fail its commit on every resend, so it is refused up front like any unusable envelope (D10: 460).
 */
export function containsNul(v: unknown, depth = 0): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (typeof v !== 'object' || v === null || depth > 64) return false;
  if (Array.isArray(v)) return v.some((x) => containsNul(x, depth + 1));
  for (const [k, x] of Object.entries(v)) if (k.includes('\u0000') || containsNul(x, depth + 1)) return true;
  return false;
}

async function chunked<T>(rows: T[], fn: (part: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await fn(rows.slice(i, i + CHUNK));
}

/** The batch sinks of the thing-data tables, and the dedupe check: one statement each per group commit. */
export function registerThingDataSinks(committer: GroupCommitter): void {
  committer.sink('propertyHistory', (tx, rows) => chunked(rows as HistoryRow[], (part) => tx.insert(propertyHistory).values(part)));
  committer.sink('eventHistory', (tx, rows) => chunked(rows as EventRow[], (part) => tx.insert(eventHistory).values(part)));
  committer.sink('propertyLatest', async (tx, rows) => {
    // One row per (device, identifier) per statement (ON CONFLICT cannot touch a row twice): the newest wins.
    const newest = new Map<string, LatestRow>();
    for (const r of rows as LatestRow[]) {
      const k = `${r.deviceId}:${r.identifier}`;
      const cur = newest.get(k);
      if (!cur || cur.ts <= r.ts) newest.set(k, r);
    }
    await chunked([...newest.values()], (part) =>
      tx
        .insert(propertyLatest)
        .values(part)
        .onConflictDoUpdate({
          target: [propertyLatest.deviceId, propertyLatest.identifier],
          set: { ts: sql`excluded.ts`, value: sql`excluded.value` },
          // An offline history post with older times does not overwrite a newer latest value.
          setWhere: sql`excluded.ts >= ${propertyLatest.ts}`,
        }),
    );
  });
  committer.dedupeWith(async (tx: Tx, keys) => {
    const unique = new Map(keys.map((k) => [`${k.deviceId}:${k.key}`, k]));
    const fresh = new Set<string>();
    for (const part of chunkArray([...unique.values()], CHUNK)) {
      const values = sql.join(
        part.map((k) => sql`(${k.deviceId}::bigint, ${k.key}, ${k.hash})`),
        sql`, `,
      );
      const rows = await query<{ device_id: string | number; request_key: string }>(
        tx,
        sql`insert into ${ingestDedupe} (device_id, request_key, hash) values ${values}
            on conflict (device_id, request_key) do update set hash = excluded.hash, seen_at = now()
            where not (${ingestDedupe.hash} = excluded.hash and ${ingestDedupe.seenAt} > now() - ${DEDUPE_WINDOW}::interval)
            returning device_id, request_key`,
      );
      for (const r of rows) fresh.add(`${Number(r.device_id)}:${r.request_key}`);
    }
    return fresh;
  });
}

function chunkArray<T>(a: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < a.length; i += n) out.push(a.slice(i, i + n));
  return out;
}

const failureData = (failed: Record<string, FailedItem | { message: string }>) =>
  Object.fromEntries(Object.entries(failed).map(([id, f]) => [id, f.message]));

/**
 * Upstream TSL messages (alink-protocol.md §3.3, §3.6, §3.9 history post; D9-D11): decode, check the method,
 * validate against the product's thing model in its validation mode, then history rows, the forwarding-shaped
 * events (§6.4, §6.5) and the `_reply` — sent only after the commit.
 */
export function createThingDataHandlers(deps: {
  products: ProductCache;
  /** A gateway's bound sub-device (pack post, §3.9), or the reference's error code. */
  subDevice?: (gateway: DeviceRef, productKey: string, deviceName: string) => Promise<DeviceRef | { code: number; message: string }>;
}) {
  function reply(msg: InboundMessage, req: Pick<AlinkRequest, 'id' | 'idType' | 'ack'> | { id?: string; idType?: 'string' | 'number'; ack: boolean }, code: number, data: unknown, message: string | undefined, method: string | undefined): Outbound[] {
    if (!req.ack) return []; // D11: sys.ack = 0 suppresses the reply
    return [
      {
        topic: replyTopic(msg.topic),
        qos: msg.qos >= 1 ? 1 : 0,
        payload: encodeReply({
          ...(req.id !== undefined ? { id: req.id } : {}),
          ...(req.idType !== undefined ? { idType: req.idType } : {}),
          code,
          data,
          ...(message !== undefined ? { message } : {}),
          ...(method !== undefined ? { method } : {}),
        }),
      },
    ];
  }

  /** Decode and check the envelope; returns a failed step (460 / 6300) or the request. */
  function envelope(msg: InboundMessage, path: string[]): { req: AlinkRequest; fail?: undefined } | { fail: StepResult; req?: undefined } {
    const decoded = decodeRequest(msg.payload);
    if (!decoded.ok) {
      const e = decoded.error;
      return { fail: { events: [], after: reply(msg, { id: e.id, idType: e.idType, ack: e.ack }, e.code, {}, e.message, e.method) } };
    }
    const req = decoded.value;
    const m = checkRequestMethod(path, req.method);
    if (!m.ok) return { fail: { events: [], after: reply(msg, req, m.error.code, {}, m.error.message, req.method) } };
    if (containsNul(req.id) || containsNul(req.params)) {
      return { fail: { events: [], after: reply(msg, req, 460, {}, 'request parameter error: text containing U+0000 cannot be stored', req.method) } };
    }
    return { req };
  }

  const dedupeOf = (device: DeviceRef, req: AlinkRequest, msg: InboundMessage) => ({
    deviceId: device.id,
    key: req.id,
    hash: createHash('sha1').update(msg.payload).digest('base64'),
  });

  const isEmptyModel = (m: ThingModel) => m.properties.size === 0 && [...m.events.keys()].every((k) => k === 'post');

  const propertyPost: TopicHandler = async ({ device, msg, receivedAt }) => {
    const path = sysPath(msg.topic);
    const info = await deps.products.get(device.productKey);
    if (!info || info.product.dataFormat === 'CUSTOM') return null; // CUSTOM: opaque, passed through (§3.8)
    const env = envelope(msg, path);
    if (env.fail) return env.fail;
    const { req } = env;
    const mode = info.product.validationMode;
    if (mode !== 'NONE' && isEmptyModel(info.model)) {
      return { events: [], after: reply(msg, req, 6321, {}, 'tsl: the product has no thing model; define one with setThingModel', req.method) };
    }
    const r = validatePropertyPost(info.model, req.params, mode, receivedAt.getTime());
    if (!r.ok) return { events: [], after: reply(msg, req, r.code, {}, r.message, req.method) };
    const history = path.includes('history');
    const step = propertyRows(device, r.items, r.failed, req, receivedAt, history);
    return { ...step, dedupe: dedupeOf(device, req, msg), after: reply(msg, req, 200, failureData(r.failed), undefined, req.method) };
  };

  const eventPost: TopicHandler = async ({ device, msg, receivedAt }) => {
    const path = sysPath(msg.topic);
    const info = await deps.products.get(device.productKey);
    if (!info || info.product.dataFormat === 'CUSTOM') return null;
    const env = envelope(msg, path);
    if (env.fail) return env.fail;
    const { req } = env;
    const eventId = path[2]!;
    const r = validateEventPost(info.model, eventId, req.params, info.product.validationMode, receivedAt.getTime());
    if (!r.ok) return { events: [], after: reply(msg, req, r.code, {}, r.message, req.method) };
    const def = info.model.events.get(eventId);
    const type = def?.type ?? 'info';
    const name = def?.name ?? eventId;
    const row: EventRow = { deviceId: device.id, identifier: eventId, name, eventType: type, output: r.value, ts: new Date(r.time), receivedAt };
    const event: NewEvent = {
      type: 'thing.event.post',
      productKey: device.productKey,
      deviceName: device.deviceName,
      // alink-protocol.md §6.5
      data: {
        identifier: eventId,
        name,
        type,
        iotId: device.iotId,
        requestId: req.id,
        productKey: device.productKey,
        deviceName: device.deviceName,
        gmtCreate: receivedAt.getTime(),
        value: r.value,
        time: r.time,
        checkFailedData: r.failed,
      },
    };
    return {
      events: [event],
      rows: { eventHistory: [row] },
      dedupe: dedupeOf(device, req, msg),
      after: reply(msg, req, 200, failureData(r.failed), undefined, req.method),
    };
  };

  /** §3.9 history post: `params: [{identity: {productKey, deviceName}, properties: [{Id: {value, time}}], events: [...]}]`. */
  const historyPost: TopicHandler = async ({ device, msg, receivedAt }) => {
    const path = sysPath(msg.topic);
    const info = await deps.products.get(device.productKey);
    if (!info || info.product.dataFormat === 'CUSTOM') return null;
    const env = envelope(msg, path);
    if (env.fail) return env.fail;
    const { req } = env;
    const entries = req.params;
    const bad = (why: string) => ({ events: [], after: reply(msg, req, 460, {}, `request parameter error: ${why}`, req.method) });
    if (!Array.isArray(entries)) return bad('params must be an array');
    const items: Record<string, PostedItem>[] = [];
    const failed: Record<string, FailedItem> = {};
    const events: { id: string; value: unknown; time: unknown }[] = [];
    for (const [i, entry] of entries.entries()) {
      const e = entry as { identity?: { productKey?: string; deviceName?: string }; properties?: unknown; events?: unknown };
      if (e?.identity && (e.identity.productKey !== device.productKey || e.identity.deviceName !== device.deviceName)) {
        return { events: [], after: reply(msg, req, 6100, {}, `params[${i}].identity is not this device`, req.method) };
      }
      for (const p of Array.isArray(e?.properties) ? e.properties : []) {
        const r = validatePropertyPost(info.model, p, info.product.validationMode, receivedAt.getTime());
        if (!r.ok) return { events: [], after: reply(msg, req, r.code, {}, r.message, req.method) };
        items.push(r.items);
        Object.assign(failed, r.failed);
      }
      for (const ev of Array.isArray(e?.events) ? e.events : []) {
        for (const [id, v] of Object.entries((ev ?? {}) as Record<string, { value?: unknown; time?: unknown }>)) events.push({ id, value: v?.value, time: v?.time });
      }
    }
    const merged = propertyRows(device, Object.assign({}, ...items) as Record<string, PostedItem>, failed, req, receivedAt, true, items);
    const eventRows: EventRow[] = [];
    for (const ev of events) {
      const r = validateEventPost(info.model, ev.id, { value: ev.value ?? {}, ...(ev.time !== undefined ? { time: ev.time } : {}) }, info.product.validationMode, receivedAt.getTime());
      if (!r.ok) return { events: [], after: reply(msg, req, r.code, {}, r.message, req.method) };
      const def = info.model.events.get(ev.id);
      eventRows.push({ deviceId: device.id, identifier: ev.id, name: def?.name ?? ev.id, eventType: def?.type ?? 'info', output: r.value, ts: new Date(r.time), receivedAt });
    }
    return {
      ...merged,
      rows: { ...merged.rows, eventHistory: eventRows },
      dedupe: dedupeOf(device, req, msg),
      after: reply(msg, req, 200, failureData(failed), undefined, req.method),
    };
  };

  function propertyRows(
    device: DeviceRef,
    items: Record<string, PostedItem>,
    failed: Record<string, FailedItem>,
    req: AlinkRequest,
    receivedAt: Date,
    history: boolean,
    allItems: Record<string, PostedItem>[] = [items],
  ): Pick<StepResult, 'events' | 'rows'> {
    const historyRows: HistoryRow[] = [];
    const latestRows: LatestRow[] = [];
    for (const set of allItems) {
      for (const [identifier, it] of Object.entries(set)) {
        const ts = new Date(it.time);
        historyRows.push({ deviceId: device.id, identifier, ts, receivedAt, value: jsonb(it.value), num: numeric(it.value) });
        latestRows.push({ deviceId: device.id, identifier, ts, value: jsonb(it.value) });
      }
    }
    const events: NewEvent[] =
      historyRows.length > 0 || Object.keys(failed).length > 0
        ? [
            {
              type: history ? 'thing.property.history.post' : 'thing.property.post',
              productKey: device.productKey,
              deviceName: device.deviceName,
              // alink-protocol.md §6.4 (and §6.10 for history posts)
              data: {
                iotId: device.iotId,
                requestId: req.id,
                productKey: device.productKey,
                deviceName: device.deviceName,
                gmtCreate: receivedAt.getTime(),
                items,
                checkFailedData: failed,
              },
            },
          ]
        : [];
    return { events, rows: { propertyHistory: historyRows, propertyLatest: latestRows } };
  }

  const packPost = createPackPostHandler({ ...deps, envelope, reply, dedupeOf, propertyRows, sysPath });

  return { propertyPost, eventPost, historyPost, packPost };
}

export function sysPath(topic: string): string[] {
  const t = parseTopic(topic);
  return t.kind === 'sys' ? t.path : [];
}

/** Which upstream /sys/ topics the thing-data handlers take. */
export function thingDataRoute(topic: string): 'property' | 'history' | 'event' | 'pack' | null {
  const t = parseTopic(topic);
  if (t.kind !== 'sys') return null;
  const p = t.path;
  if (p.join('/') === 'thing/event/property/pack/post') return 'pack';
  if (p.length === 4 && p[0] === 'thing' && p[1] === 'event' && p[2] === 'property' && p[3] === 'post') return 'property';
  if (p.length === 5 && p[0] === 'thing' && p[1] === 'event' && p[2] === 'property' && p[3] === 'history' && p[4] === 'post') return 'history';
  if (p.length === 4 && p[0] === 'thing' && p[1] === 'event' && p[2] !== 'property' && p[3] === 'post') return 'event';
  return null;
}
