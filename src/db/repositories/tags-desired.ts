import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Executor, Tx } from '../client.ts';
import { desiredProperties, deviceTags } from '../tables.ts';

export type TagRow = { deviceId: number; attrKey: string; attrValue: string };
export type DesiredDeleteRow = { deviceId: number; identifier: string; version: number | null };
export type DesiredRow = typeof desiredProperties.$inferSelect;

/** Sink flush: upsert a commit's tags in one statement (the last value of a key in the batch wins). */
export async function upsertTags(tx: Tx, rows: unknown[]): Promise<void> {
  const last = new Map((rows as TagRow[]).map((r) => [`${r.deviceId}:${r.attrKey}`, r]));
  await tx
    .insert(deviceTags)
    .values([...last.values()])
    .onConflictDoUpdate({
      target: [deviceTags.deviceId, deviceTags.attrKey],
      set: { attrValue: sql`excluded.attr_value`, updatedAt: sql`now()` },
    });
}

/** Sink flush: delete a commit's tags. */
export async function deleteTags(tx: Tx, rows: unknown[]): Promise<void> {
  for (const r of rows as { deviceId: number; attrKey: string }[])
    await tx.delete(deviceTags).where(and(eq(deviceTags.deviceId, r.deviceId), eq(deviceTags.attrKey, r.attrKey)));
}

/** Sink flush: delete desired properties, each only at the version the device saw when it names one. */
export async function deleteDesired(tx: Tx, rows: unknown[]): Promise<void> {
  for (const r of rows as DesiredDeleteRow[]) {
    await tx
      .delete(desiredProperties)
      .where(
        and(
          eq(desiredProperties.deviceId, r.deviceId),
          eq(desiredProperties.identifier, r.identifier),
          r.version == null ? undefined : eq(desiredProperties.version, r.version),
        ),
      );
  }
}

/** A device's tags by key. */
export async function listTags(ex: Executor, deviceId: number): Promise<{ attrKey: string; attrValue: string }[]> {
  const rows = await ex
    .select()
    .from(deviceTags)
    .where(eq(deviceTags.deviceId, deviceId))
    .orderBy(asc(deviceTags.attrKey));
  return rows.map((r) => ({ attrKey: r.attrKey, attrValue: r.attrValue }));
}

export async function deleteDeviceTags(ex: Executor, deviceId: number): Promise<void> {
  await ex.delete(deviceTags).where(eq(deviceTags.deviceId, deviceId));
}

/** A device's desired properties by identifier. */
export async function listDesired(ex: Executor, deviceId: number): Promise<DesiredRow[]> {
  return ex
    .select()
    .from(desiredProperties)
    .where(eq(desiredProperties.deviceId, deviceId))
    .orderBy(asc(desiredProperties.identifier));
}

/** A device's desired properties, their rows locked for the rest of the transaction. */
export async function lockDesired(ex: Executor, deviceId: number): Promise<DesiredRow[]> {
  return ex.select().from(desiredProperties).where(eq(desiredProperties.deviceId, deviceId)).for('update');
}

/** The desired properties with these identifiers (all of them when none are named). */
export async function findDesired(ex: Executor, deviceId: number, identifiers: string[]): Promise<DesiredRow[]> {
  return ex
    .select()
    .from(desiredProperties)
    .where(
      and(
        eq(desiredProperties.deviceId, deviceId),
        identifiers.length ? inArray(desiredProperties.identifier, identifiers) : undefined,
      ),
    );
}

export async function upsertDesired(
  ex: Executor,
  deviceId: number,
  identifier: string,
  value: object,
  version: number,
): Promise<void> {
  await ex
    .insert(desiredProperties)
    .values({ deviceId, identifier, value, version })
    .onConflictDoUpdate({
      target: [desiredProperties.deviceId, desiredProperties.identifier],
      set: { value, version, updatedAt: new Date() },
    });
}
