/**
 * The statements that join a JSON batch with a table look its rows up by index instead of scanning the table
 * (docs/uplink-pipeline.md, "Row counts for the planner"). PostgreSQL assumes `json_to_recordset` yields 100 rows, and
 * a hash join over the whole table then looks cheaper than 100 index look-ups until the table holds tens of thousands
 * of rows: every login batch read every device, every reply batch every command. Counted with the backend's own
 * statistics (`pg_stat_xact_user_tables`) around the statements, so other tests on the same database do not count.
 */
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { type Executor, query } from '../../src/db/client.ts';
import { findDevicesByName, recordCommandReplies } from '../../src/db/repositories/commands.ts';
import { findDeviceCredentials } from '../../src/db/repositories/devices.ts';
import { markOfflineAtEpoch, markOnline } from '../../src/db/repositories/presence.ts';
import { describeEachDb, test } from '../helpers/fixtures.ts';
import { ADMIN } from '../helpers/services.ts';

/** Sequential scans of the two tables counted by this backend since its statistics were last flushed. */
async function seqScans(ex: Executor): Promise<{ devices: number; commands: number }> {
  const rows = await query<{ relname: string; seq_scan: string | number }>(
    ex,
    sql`select relname, seq_scan from pg_stat_xact_user_tables where relname in ('devices', 'commands')`,
  );
  const of = (name: string) => Number(rows.find((r) => r.relname === name)?.seq_scan ?? 0);
  return { devices: of('devices'), commands: of('commands') };
}

/** Enough rows that a scan costs more than a few index look-ups, far fewer than where the planner switched by itself. */
const DEVICES = 3_000;

describeEachDb(test, 'batch statements on %s', () => {
  test('find devices, mark them online and offline, and record replies by index, not by reading the table', async ({
    services: s,
    product,
  }) => {
    const pk = product.productKey;
    for (let n = 0; n < DEVICES; n += 1_000)
      await s.services.devices.registerMany(ADMIN, { productKey: pk, count: 1_000 });
    const db = s.db.database.db;
    await db.execute(sql`insert into commands (message_id, kind, product_key, device_name, topic, status)
      select d.device_name || '-' || g || '-' || ${pk}, 'RRPC', d.product_key, d.device_name, 't', 'SENT'
      from devices d cross join generate_series(1, 2) g where d.product_key = ${pk}`);
    const some = await query<{ id: string; device_name: string }>(
      db,
      sql`select id::text, device_name from devices where product_key = ${pk} order by device_name limit 5`,
    );
    const names = some.map((d) => d.device_name);
    const at = new Date();

    const scans = await db.transaction(async (tx) => {
      // The backend's counts not yet flushed, which may hold earlier transactions' on this connection: compared below.
      const before = await seqScans(tx);
      const creds = await findDeviceCredentials(
        tx,
        names.map((deviceName) => ({ productKey: pk, deviceName })),
      );
      expect(creds.map((c) => c.deviceName).sort()).toEqual(names);
      expect([...(await findDevicesByName(tx, pk, names)).keys()].sort()).toEqual(names);
      const online = await markOnline(
        tx,
        some.map((d) => ({
          id: Number(d.id),
          instanceId: 'plans',
          clientIp: null,
          rrpcForm: 'sys',
          at,
          secretEnc: null,
        })),
      );
      expect(online.map((o) => o?.epoch)).toEqual([1, 1, 1, 1, 1]);
      const offline = await markOfflineAtEpoch(
        tx,
        some.map((d) => ({ id: Number(d.id), epoch: 1, at })),
      );
      expect(offline.map((o) => o.device?.connectionEpoch)).toEqual([1, 1, 1, 1, 1]);
      await recordCommandReplies(tx, [
        ...names.map((deviceName, k) => ({
          messageId: `${deviceName}-1-${pk}`,
          productKey: pk,
          deviceName,
          code: 200,
          output: { k },
          payload: null,
        })),
        // Another device's command, answered by this one: changes nothing.
        {
          messageId: `${names[0]}-2-${pk}`,
          productKey: pk,
          deviceName: names[1]!,
          code: 200,
          output: null,
          payload: null,
        },
      ]);
      const after = await seqScans(tx);
      return { devices: after.devices - before.devices, commands: after.commands - before.commands };
    });
    expect(scans).toEqual({ devices: 0, commands: 0 });
    const replied = await query<{ message_id: string }>(
      db,
      sql`select message_id from commands where product_key = ${pk} and status = 'REPLIED' order by message_id`,
    );
    expect(replied.map((r) => r.message_id)).toEqual(names.map((n) => `${n}-1-${pk}`).sort());
  });
});
