import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from '../client.ts';
import type { DeviceRecord } from '../records.ts';
import { commands, devices } from '../tables.ts';
import { findDevice, toDeviceRecord } from './devices.ts';

export type CommandRow = typeof commands.$inferInsert;

/** A device's answer to a command, matched to the command by message id and device. */
export interface ReplyRow {
  messageId: string;
  productKey: string;
  deviceName: string;
  code: number | null;
  output: unknown;
  payload: string | null;
}

/** The named devices of one product, by name (one query per 1000 names; a single name takes the keyed lookup). */
export async function findDevicesByName(
  ex: Executor,
  productKey: string,
  names: readonly string[],
): Promise<Map<string, DeviceRecord>> {
  const found = new Map<string, DeviceRecord>();
  if (names.length === 1) {
    const d = await findDevice(ex, productKey, names[0]!);
    if (d) found.set(d.deviceName, d);
    return found;
  }
  // Constant text whatever the number of names (one prepared statement per connection, not one per count).
  const rows = await ex
    .select()
    .from(devices)
    .where(
      and(
        eq(devices.productKey, productKey),
        sql`${devices.deviceName} in (select json_array_elements_text(${JSON.stringify(names)}::text::json) limit ${names.length})`,
      ),
    );
  for (const r of rows) found.set(r.deviceName, toDeviceRecord(r));
  return found;
}

/** Names of the product's devices that are online and enabled (broadcast targets). */
export async function listOnlineDeviceNames(ex: Executor, productKey: string): Promise<string[]> {
  const rows = await ex
    .select({ deviceName: devices.deviceName })
    .from(devices)
    .where(and(eq(devices.productKey, productKey), eq(devices.online, true), eq(devices.enabled, true)));
  return rows.map((r) => r.deviceName);
}

/**
 * The command sinks (one statement per group commit) take their rows as one JSON parameter (`json_to_recordset`, as
 * the ingest sinks: docs/uplink-pipeline.md "Constant statements"): the text does not change with the batch size, so
 * postgres.js prepares it once per connection, and neither database parses and binds ten parameters per row.
 */
const INSERT_COMMANDS = `insert into commands (message_id, kind, product_key, device_name, topic, identifier, call_type, input, status)
  select m, k, pk, dn, t, i, ct, inp, s from json_to_recordset(`;
const INSERT_COMMANDS_TAIL = `::text::json) as x(o int, m text, k text, pk text, dn text, t text, i text, ct text, inp jsonb, s text)
  order by o`;

export async function insertCommands(ex: Executor, rows: readonly CommandRow[]): Promise<void> {
  if (rows.length === 0) return;
  // `inp` absent (undefined) and JSON null both come out of json_to_recordset as SQL NULL, as drizzle stored them.
  const json = JSON.stringify(
    rows.map((r, o) => ({
      o,
      m: r.messageId,
      k: r.kind,
      pk: r.productKey,
      dn: r.deviceName ?? null,
      t: r.topic,
      i: r.identifier ?? null,
      ct: r.callType ?? null,
      inp: r.input ?? null,
      s: r.status,
    })),
  );
  await ex.execute(sql`${sql.raw(INSERT_COMMANDS)}${json}${sql.raw(INSERT_COMMANDS_TAIL)}`);
}

/** Replies to commands still waiting (SENT or OFFLINE); late answers (after TIMEOUT) are discarded. */
export async function recordCommandReplies(ex: Executor, list: readonly ReplyRow[]): Promise<void> {
  if (list.length === 0) return;
  // The output travels as JSON text (`ot`) and is cast by the server: JSON null stays a jsonb null and an absent
  // output (undefined) stays SQL NULL, which a jsonb field of json_to_recordset could not tell apart.
  const json = JSON.stringify(
    list.map((r) => ({
      m: r.messageId,
      pk: r.productKey,
      dn: r.deviceName,
      c: r.code,
      ot: r.output === undefined ? null : JSON.stringify(r.output),
      p: r.payload,
    })),
  );
  // Found by message id (the primary key): the device is compared as one row value, which no index answers, so the
  // planner does not walk the device's whole command history by commands_device_time_idx instead.
  await ex.execute(sql`update ${commands} c set status = 'REPLIED', code = v.c, output = v.ot::jsonb, reply_payload = v.p, replied_at = now()
    from (select * from json_to_recordset(${json}::text::json) as v(m text, pk text, dn text, c int, ot text, p text) limit ${list.length}) v
    where c.message_id = v.m and (c.product_key, c.device_name) is not distinct from (v.pk, v.dn) and c.status in ('SENT', 'OFFLINE')`);
}

/**
 * Mark commands TIMEOUT. The waiting mutation decides: it answered TIMEOUT, so the record says TIMEOUT. An answer
 * committed after the deadline but before this update (a later batch, or earlier in the same one) is a late answer
 * and is discarded like any other; without this the record could say REPLIED while the caller was told TIMEOUT.
 */
export async function recordCommandTimeouts(ex: Executor, messageIds: readonly string[]): Promise<void> {
  const ids = messageIds.map((id) => sql`${id}`);
  await ex.execute(sql`update ${commands} set status = 'TIMEOUT', code = null, output = null, reply_payload = null, replied_at = null
    where status in ('SENT', 'REPLIED') and message_id in (${sql.join(ids, sql`, `)})`);
}
