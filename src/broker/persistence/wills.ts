import { and, asc, eq, gt, notInArray, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { mqttWills } from '../../db/schema/broker.ts';
import { decodePacket, encodePacket, type Packet } from './codec.ts';

/** putWill: the will is stamped with the client and the broker holding the connection, as aedes-persistence does. */
export async function putWill(ex: Executor, clientId: string, brokerId: string, packet: Packet): Promise<void> {
  packet.brokerId = brokerId;
  packet.clientId = clientId;
  const enc = encodePacket(packet);
  const t = mqttWills;
  await ex
    .insert(t)
    .values({ clientId, brokerId, ...enc })
    .onConflictDoUpdate({ target: t.clientId, set: { brokerId, ...enc } });
}

export async function getWill(ex: Executor, clientId: string): Promise<Packet | undefined> {
  const t = mqttWills;
  const [row] = await ex.select().from(t).where(eq(t.clientId, clientId));
  return row ? decodePacket(row) : undefined;
}

/**
 * delWill. When the caller names the broker (aedes does after publishing a dead broker's will, and on disconnect),
 * only that broker's will is deleted: a client that has meanwhile reconnected elsewhere keeps its new will.
 */
export async function delWill(ex: Executor, clientId: string, brokerId?: string): Promise<Packet | undefined> {
  const t = mqttWills;
  const where = brokerId ? and(eq(t.clientId, clientId), eq(t.brokerId, brokerId)) : eq(t.clientId, clientId);
  const [row] = await ex.delete(t).where(where).returning();
  return row ? decodePacket(row) : undefined;
}

/** streamWill: the wills held by brokers not in `brokers` (aedes passes the brokers it has heard from), paged. */
export async function* willsOutside(
  ex: Executor,
  brokerIds: readonly string[],
  pageSize: number,
): AsyncGenerator<Packet> {
  const t = mqttWills;
  let after: string | null = null;
  for (;;) {
    const conds: SQL[] = [];
    if (brokerIds.length > 0) conds.push(notInArray(t.brokerId, [...brokerIds]));
    if (after !== null) conds.push(gt(t.clientId, after));
    const rows = await ex
      .select()
      .from(t)
      .where(conds.length > 0 ? and(...conds) : undefined)
      .orderBy(asc(t.clientId))
      .limit(pageSize);
    for (const r of rows) yield decodePacket(r);
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]!.clientId;
  }
}
