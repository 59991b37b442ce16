import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { query, type Executor, type Tx } from '../client.ts';
import { idWindowClauses, type IdWindow } from '../id-window.ts';
import {
  ACTIVE_JOB,
  type FirmwareRecord,
  type OtaJobRecord,
  type OtaJobStatus,
  type SignMethod,
} from '../ota-records.ts';
import { deviceVersions, firmwares, otaJobs, otaTasks } from '../tables.ts';

/**
 * Firmware packages, device versions and upgrade jobs (architecture.md habit 6); tasks are in ota-tasks.ts. Lock order everywhere: the job row first
 * (`lockJob`), then its tasks, so that concurrent transitions of one job (two devices finishing on two instances,
 * a cancel, the rollout) serialise and the last one sees the others when it decides the job is COMPLETED.
 */

// ---- firmware packages

/** The columns of a firmware without its bytes (never load a package to list it). */
const firmwareColumns = {
  id: firmwares.id,
  productKey: firmwares.productKey,
  name: firmwares.name,
  version: firmwares.version,
  module: firmwares.module,
  size: firmwares.size,
  md5: firmwares.md5,
  sha256: firmwares.sha256,
  signMethod: firmwares.signMethod,
  url: firmwares.url,
  createdAt: firmwares.createdAt,
};

type FirmwareRow = { [K in keyof typeof firmwareColumns]: (typeof firmwares.$inferSelect)[K] };

const toFirmwareRecord = (r: FirmwareRow): FirmwareRecord => ({
  ...r,
  // '' marks a digest not given for a firmware registered by URL (the column is NOT NULL).
  sha256: r.sha256 === '' ? null : r.sha256,
  signMethod: r.signMethod as SignMethod,
});

export async function findFirmware(ex: Executor, id: number): Promise<FirmwareRecord | null> {
  if (!Number.isSafeInteger(id)) return null;
  const rows = await ex.select(firmwareColumns).from(firmwares).where(eq(firmwares.id, id)).limit(1);
  return rows[0] ? toFirmwareRecord(rows[0]) : null;
}

/** Store a package (`content` null: registered by URL); null when the product has that module version already. */
export async function insertFirmware(
  ex: Executor,
  f: Omit<FirmwareRecord, 'id' | 'sha256' | 'createdAt'> & { sha256: string; content: Buffer | null },
): Promise<FirmwareRecord | null> {
  const rows = await ex.insert(firmwares).values(f).onConflictDoNothing().returning(firmwareColumns);
  return rows[0] ? toFirmwareRecord(rows[0]) : null;
}

export async function pageFirmwares(ex: Executor, productKey: string, w: IdWindow): Promise<FirmwareRecord[]> {
  const c = idWindowClauses(firmwares.id, w);
  const rows = await ex
    .select(firmwareColumns)
    .from(firmwares)
    .where(and(eq(firmwares.productKey, productKey), c.where))
    .orderBy(c.orderBy)
    .limit(w.limit);
  return rows.map(toFirmwareRecord);
}

export function countFirmwares(ex: Executor, productKey: string): Promise<number> {
  return ex.$count(firmwares, eq(firmwares.productKey, productKey));
}

/** Size and digests of a package whose bytes ThingQL stores; null for one registered by URL or missing. */
export async function findStoredPackage(
  ex: Executor,
  firmwareId: number,
): Promise<{ size: number; sha256: string; md5: string } | null> {
  const rows = await query<{ size: string | number; sha256: string; md5: string }>(
    ex,
    sql`select octet_length(${firmwares.content}) as size, ${firmwares.sha256} as sha256, ${firmwares.md5} as md5
        from ${firmwares} where ${firmwares.id} = ${firmwareId} and ${firmwares.content} is not null`,
  );
  return rows[0] ? { size: Number(rows[0].size), sha256: rows[0].sha256, md5: rows[0].md5 } : null;
}

/** `length` bytes of a stored package from `offset` (0-based), as the driver returns bytea. */
export async function readPackageBytes(
  ex: Executor,
  firmwareId: number,
  offset: number,
  length: number,
): Promise<unknown> {
  const part = await query<{ c: unknown }>(
    ex,
    sql`select substring(${firmwares.content} from ${offset + 1} for ${length}) as c from ${firmwares} where ${firmwares.id} = ${firmwareId}`,
  );
  return part[0]?.c;
}

// ---- device versions

/** Record the version a device reported for a module (the latest report wins). */
export async function upsertDeviceVersion(
  ex: Executor,
  v: { deviceId: number; module: string; version: string; reportedAt: Date },
): Promise<void> {
  await ex
    .insert(deviceVersions)
    .values(v)
    .onConflictDoUpdate({
      target: [deviceVersions.deviceId, deviceVersions.module],
      set: { version: sql`excluded.version`, reportedAt: sql`excluded.reported_at` },
    });
}

/** The versions a device reported, per module. */
export function listDeviceVersions(
  ex: Executor,
  deviceId: number,
): Promise<{ module: string; version: string; reportedAt: Date }[]> {
  return ex
    .select({ module: deviceVersions.module, version: deviceVersions.version, reportedAt: deviceVersions.reportedAt })
    .from(deviceVersions)
    .where(eq(deviceVersions.deviceId, deviceId))
    .orderBy(asc(deviceVersions.module));
}

// ---- jobs

export const toJobRecord = (r: typeof otaJobs.$inferSelect): OtaJobRecord => ({
  id: r.id,
  firmwareId: r.firmwareId,
  productKey: r.productKey,
  srcVersions: r.srcVersions,
  rolloutRate: r.rolloutRate,
  status: r.status as OtaJobStatus,
  createdAt: r.createdAt,
});

export async function findJob(ex: Executor, id: number): Promise<OtaJobRecord | null> {
  const rows = await ex.select().from(otaJobs).where(eq(otaJobs.id, id)).limit(1);
  return rows[0] ? toJobRecord(rows[0]) : null;
}

/** Lock the job row for the rest of the transaction. */
export async function lockJob(tx: Tx, jobId: number): Promise<OtaJobRecord | null> {
  const rows = await tx.select().from(otaJobs).where(eq(otaJobs.id, jobId)).for('update');
  return rows[0] ? toJobRecord(rows[0]) : null;
}

/** Serialise job creation for a product until the transaction ends (`lock` is the caller's advisory lock class). */
export async function lockJobCreation(tx: Tx, lock: number, productKey: string): Promise<void> {
  await query(tx, sql`select pg_advisory_xact_lock(${lock}, hashtext(${productKey}))`);
}

export async function insertJob(
  tx: Tx,
  j: {
    firmwareId: number;
    productKey: string;
    srcVersions: string[] | null;
    rolloutRate: number | null;
    status: OtaJobStatus;
  },
): Promise<OtaJobRecord> {
  const [row] = await tx.insert(otaJobs).values(j).returning();
  return toJobRecord(row!);
}

export async function setJobStatus(tx: Tx, jobId: number, status: OtaJobStatus): Promise<void> {
  await tx.update(otaJobs).set({ status }).where(eq(otaJobs.id, jobId));
}

export async function listActiveJobs(ex: Executor): Promise<OtaJobRecord[]> {
  const rows = await ex
    .select()
    .from(otaJobs)
    .where(inArray(otaJobs.status, [...ACTIVE_JOB]));
  return rows.map(toJobRecord);
}

const jobFilter = (productKey: string, status: OtaJobStatus | null) =>
  and(eq(otaJobs.productKey, productKey), status ? eq(otaJobs.status, status) : undefined);

export async function pageJobs(
  ex: Executor,
  productKey: string,
  status: OtaJobStatus | null,
  w: IdWindow,
): Promise<OtaJobRecord[]> {
  const c = idWindowClauses(otaJobs.id, w);
  const rows = await ex
    .select()
    .from(otaJobs)
    .where(and(jobFilter(productKey, status), c.where))
    .orderBy(c.orderBy)
    .limit(w.limit);
  return rows.map(toJobRecord);
}

export function countJobs(ex: Executor, productKey: string, status: OtaJobStatus | null): Promise<number> {
  return ex.$count(otaJobs, jobFilter(productKey, status));
}

/** After a task ended: mark the job COMPLETED once none of its tasks is active; true when this call did. */
export async function completeJobIfDone(tx: Tx, jobId: number): Promise<boolean> {
  const rows = await tx
    .update(otaJobs)
    .set({ status: 'COMPLETED' })
    .where(
      and(
        eq(otaJobs.id, jobId),
        inArray(otaJobs.status, [...ACTIVE_JOB]),
        sql`not exists (select 1 from ${otaTasks} where ${otaTasks.jobId} = ${jobId} and ${otaTasks.status} in ('QUEUED', 'NOTIFIED', 'IN_PROGRESS'))`,
      ),
    )
    .returning({ id: otaJobs.id });
  return rows.length > 0;
}
