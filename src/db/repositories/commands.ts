import { and, eq, inArray, sql } from 'drizzle-orm';
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
  for (let i = 0; i < names.length; i += 1000) {
    const rows = await ex
      .select()
      .from(devices)
      .where(and(eq(devices.productKey, productKey), inArray(devices.deviceName, names.slice(i, i + 1000))));
    for (const r of rows) found.set(r.deviceName, toDeviceRecord(r));
  }
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

export async function insertCommands(ex: Executor, rows: readonly CommandRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000) await ex.insert(commands).values(rows.slice(i, i + 1000));
}

/** Replies to commands still waiting (SENT or OFFLINE); late answers (after TIMEOUT) are discarded. */
export async function recordCommandReplies(ex: Executor, list: readonly ReplyRow[]): Promise<void> {
  for (let i = 0; i < list.length; i += 500) {
    // The output goes as text and is cast by the server: a parameter typed jsonb would make postgres.js
    // JSON-encode the already encoded string again (a jsonb *string* on PostgreSQL, an object on PGlite).
    const values = sql.join(
      list
        .slice(i, i + 500)
        .map(
          (r) =>
            sql`(${r.messageId}::text, ${r.productKey}::text, ${r.deviceName}::text, ${r.code}::int, ${r.output === undefined ? null : JSON.stringify(r.output)}::text::jsonb, ${r.payload}::text)`,
        ),
      sql`, `,
    );
    await ex.execute(sql`update ${commands} c set status = 'REPLIED', code = v.code, output = v.output, reply_payload = v.payload, replied_at = now()
      from (values ${values}) as v(message_id, product_key, device_name, code, output, payload)
      where c.message_id = v.message_id and c.product_key = v.product_key and c.device_name = v.device_name and c.status in ('SENT', 'OFFLINE')`);
  }
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
