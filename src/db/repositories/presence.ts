import { and, eq, isNull, lt, ne, notInArray, or, sql, type SQL } from 'drizzle-orm';
import { query, type Executor } from '../client.ts';
import type { DeviceRecord, RrpcForm } from '../records.ts';
import { devices, instances } from '../tables.ts';
import { toDeviceRecord } from './devices.ts';

/** A device's previous presence, read by the same UPDATE that marks it online. */
export interface OnlineTransition {
  epoch: number;
  wasOnline: boolean;
  oldEpoch: number;
  oldIp: string | null;
  /** First login: the device had never been activated. */
  activatedNow: boolean;
}

export interface OnlineInput {
  id: number;
  instanceId: string;
  clientIp: string | null;
  rrpcForm: RrpcForm;
  at: Date;
  secretEnc: string | null;
}

/**
 * Mark devices online, each with a new connection epoch, in one statement of constant text (one JSON parameter) for
 * every login of a group commit: each row is locked (in id order, so concurrent batches cannot deadlock) and its
 * previous state read by the same UPDATE, so a takeover knows the epoch it replaces. With `secretEnc`, only while the
 * device is enabled and still has that secret. Returns one entry per input, in order: null when nothing was updated.
 * The ids must be distinct (a row is updated once per statement): the caller splits repeats of a device.
 */
export async function markOnline(ex: Executor, list: readonly OnlineInput[]): Promise<(OnlineTransition | null)[]> {
  const json = JSON.stringify(
    list.map((a, i) => ({
      i,
      id: a.id,
      inst: a.instanceId,
      ip: a.clientIp,
      rrpc: a.rrpcForm,
      at: a.at.toISOString(),
      sec: a.secretEnc,
    })),
  );
  const rows = await query<{
    i: number;
    epoch: string | number;
    was_online: boolean;
    old_epoch: string | number;
    old_ip: string | null;
    old_activated: unknown;
  }>(
    ex,
    sql`with x as (
          select * from json_to_recordset(${json}::text::json)
            as r(i int, id bigint, inst text, ip text, rrpc text, at timestamptz, sec text) limit ${list.length}
        ), old as (
          select id, online, connection_epoch, client_ip, activated_at from ${devices}
          where id in (select id from x) order by id for update
        )
        update ${devices} d set online = true, connection_epoch = d.connection_epoch + 1, connected_instance = x.inst,
          client_ip = x.ip, rrpc_form = x.rrpc, last_online_at = x.at, activated_at = coalesce(d.activated_at, x.at)
        from x join old on old.id = x.id
        where d.id = x.id and (x.sec is null or (d.enabled and d.secret_enc = x.sec))
        returning x.i, d.connection_epoch as epoch, old.online as was_online, old.connection_epoch as old_epoch,
                  old.client_ip as old_ip, old.activated_at as old_activated`,
  );
  const out: (OnlineTransition | null)[] = list.map(() => null);
  for (const row of rows)
    out[Number(row.i)] = {
      epoch: Number(row.epoch),
      wasOnline: row.was_online,
      oldEpoch: Number(row.old_epoch),
      oldIp: row.old_ip,
      activatedNow: row.old_activated == null,
    };
  return out;
}

async function markOfflineWhere(ex: Executor, cond: SQL | undefined, at: Date): Promise<DeviceRecord[]> {
  const rows = await ex
    .update(devices)
    .set({ online: false, connectedInstance: null, lastOfflineAt: at })
    .where(and(eq(devices.online, true), cond))
    .returning();
  return rows.map(toDeviceRecord);
}

export interface OfflineInput {
  id: number;
  epoch: number;
  at: Date;
}

/** What `markOfflineAtEpoch` did for one input. */
export interface OfflineTransition {
  /** The device as it went offline (its epoch and address), when `epoch` was still its current connection. */
  device: {
    id: number;
    iotId: string;
    productKey: string;
    deviceName: string;
    connectionEpoch: number;
    clientIp: string | null;
  } | null;
  /** Whether the device row still exists (a deleted device's kicked session has nothing left to update). */
  exists: boolean;
}

/**
 * Mark devices offline, each only if its `epoch` is still its current connection, in one statement of constant text
 * (one JSON parameter) for every disconnect of a group commit; rows locked in id order, as `markOnline` does. One entry
 * per input, in order. The ids must be distinct.
 */
export async function markOfflineAtEpoch(ex: Executor, list: readonly OfflineInput[]): Promise<OfflineTransition[]> {
  const json = JSON.stringify(list.map((a, i) => ({ i, id: a.id, epoch: a.epoch, at: a.at.toISOString() })));
  const rows = await query<{
    i: number;
    updated: boolean;
    present: boolean;
    id: string | number | null;
    iot_id: string | null;
    product_key: string | null;
    device_name: string | null;
    connection_epoch: string | number | null;
    client_ip: string | null;
  }>(
    ex,
    sql`with x as (
          select * from json_to_recordset(${json}::text::json) as r(i int, id bigint, epoch bigint, at timestamptz)
            limit ${list.length}
        ), old as (
          select id from ${devices} where id in (select id from x) order by id for update
        ), u as (
          update ${devices} d set online = false, connected_instance = null, last_offline_at = x.at
          from x join old on old.id = x.id
          where d.id = x.id and d.online and d.connection_epoch = x.epoch
          returning x.i, d.id, d.iot_id, d.product_key, d.device_name, d.connection_epoch, d.client_ip
        )
        select x.i, u.i is not null as updated, old.id is not null as present, u.id, u.iot_id, u.product_key,
               u.device_name, u.connection_epoch, u.client_ip
        from x left join u on u.i = x.i left join old on old.id = x.id`,
  );
  const out: OfflineTransition[] = list.map(() => ({ device: null, exists: false }));
  for (const r of rows)
    out[Number(r.i)] = {
      exists: r.present,
      device: r.updated
        ? {
            id: Number(r.id),
            iotId: r.iot_id!,
            productKey: r.product_key!,
            deviceName: r.device_name!,
            connectionEpoch: Number(r.connection_epoch),
            clientIp: r.client_ip,
          }
        : null,
    };
  return out;
}

/** Mark offline every device connected through this instance. */
export const markOfflineOnInstance = (ex: Executor, instanceId: string, at: Date): Promise<DeviceRecord[]> =>
  markOfflineWhere(ex, eq(devices.connectedInstance, instanceId), at);

/** Mark offline every online device whose instance has stopped or not beaten since `aliveAfter`. */
export function markOfflineOfDeadInstances(ex: Executor, aliveAfter: Date, at: Date): Promise<DeviceRecord[]> {
  const alive = ex
    .select({ id: instances.id })
    .from(instances)
    .where(and(isNull(instances.stoppedAt), sql`${instances.heartbeatAt} >= ${aliveAfter.toISOString()}::timestamptz`));
  return markOfflineWhere(ex, or(isNull(devices.connectedInstance), notInArray(devices.connectedInstance, alive)), at);
}

export async function registerInstance(ex: Executor, instanceId: string): Promise<void> {
  await ex.insert(instances).values({ id: instanceId });
}

/** Record every other instance as stopped (the embedded database: only one process can have it open). */
export async function markOtherInstancesStopped(ex: Executor, instanceId: string): Promise<void> {
  await ex
    .update(instances)
    .set({ stoppedAt: new Date() })
    .where(and(ne(instances.id, instanceId), isNull(instances.stoppedAt)));
}

export async function recordHeartbeat(ex: Executor, instanceId: string): Promise<void> {
  await ex.update(instances).set({ heartbeatAt: new Date() }).where(eq(instances.id, instanceId));
}

export async function markInstanceStopped(ex: Executor, instanceId: string): Promise<void> {
  await ex.update(instances).set({ stoppedAt: new Date() }).where(eq(instances.id, instanceId));
}

/** Forget instances whose last heartbeat is older than `before`. */
export async function deleteInstancesSilentSince(ex: Executor, before: Date): Promise<void> {
  await ex.delete(instances).where(lt(instances.heartbeatAt, before));
}
