import { and, eq, sql, type SQL } from 'drizzle-orm';
import { query, type Executor } from '../../db/client.ts';
import { mqttIncoming } from '../../db/schema/broker.ts';
import { decodePacket, encodePacket, queuedCopy, type Packet } from './codec.ts';

// ---- outgoing: offline and in-flight QoS > 0 deliveries (aedes-persistence asyncPersistence.js semantics) ----

interface OutgoingRow {
  id: number | string;
  message_id: number | null;
  packet: unknown;
  payload: Uint8Array | null;
  payload_is_string: boolean;
}

/** The messageId lives in its own column (it is what PUBACK/PUBREC/PUBCOMP look up); `undefined` while unassigned. */
function outgoingPacket(r: OutgoingRow): Packet {
  const p = decodePacket({ packet: r.packet, payload: r.payload, payloadIsString: r.payload_is_string });
  p.messageId = r.message_id ?? undefined;
  return p;
}

const int = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * One row per subscription (a client matched by two filters gets two, as in aedes-persistence; aedes drops the
 * duplicate by brokerCounter). One statement whatever the fan-out: the payload is sent once and the client ids as
 * one JSON array, and `with ordinality` keeps the subscriptions' order in the queue ids.
 */
export async function enqueueOutgoing(ex: Executor, clientIds: readonly string[], original: Packet): Promise<void> {
  if (clientIds.length === 0) return;
  const p = queuedCopy(original);
  const enc = encodePacket(p, ['messageId']);
  await ex.execute(sql`
    insert into mqtt_outgoing (client_id, broker_id, broker_counter, message_id, packet, payload, payload_is_string)
    select c.client_id, ${text(p.brokerId)}::text, ${int(p.brokerCounter)}::bigint, null, ${JSON.stringify(enc.packet)}::text::jsonb,
           ${enc.payload}::bytea, ${enc.payloadIsString}::boolean
    from jsonb_array_elements_text(${JSON.stringify(clientIds)}::text::jsonb) with ordinality as c(client_id, n)
    order by c.n`);
}

/**
 * outgoingUpdate, as the in-memory queue does it: the first queued packet (in queue order) that is either this very
 * packet (same brokerId and brokerCounter) and gets its new messageId, or another broker's packet with the same
 * messageId, which is replaced by this one (a PUBREL replacing its PUBLISH). Throws when there is none.
 */
export async function updateOutgoing(ex: Executor, clientId: string, packet: Packet): Promise<void> {
  const b = text(packet.brokerId);
  const c = int(packet.brokerCounter);
  const m = int(packet.messageId);
  const enc = encodePacket(packet, ['messageId']);
  const rows = await query<{ id: unknown }>(
    ex,
    sql`
    with target as (
      select id, (broker_id is not distinct from ${b}::text and broker_counter is not distinct from ${c}::bigint) as same
      from mqtt_outgoing
      where client_id = ${clientId}
        and ((broker_id is not distinct from ${b}::text and broker_counter is not distinct from ${c}::bigint)
          or (broker_id is distinct from ${b}::text and message_id = ${m}::integer))
      order by id
      limit 1
      for update
    )
    update mqtt_outgoing o set
      message_id = ${m}::integer,
      broker_id = case when t.same then o.broker_id else ${b}::text end,
      broker_counter = case when t.same then o.broker_counter else ${c}::bigint end,
      packet = case when t.same then o.packet else ${JSON.stringify(enc.packet)}::text::jsonb end,
      payload = case when t.same then o.payload else ${enc.payload}::bytea end,
      payload_is_string = case when t.same then o.payload_is_string else ${enc.payloadIsString}::boolean end
    from target t
    where o.id = t.id
    returning o.id`,
  );
  if (rows.length === 0) throw new Error('no such packet');
}

/** Removes the first queued packet with this messageId and returns it (undefined when there is none). */
export async function clearOutgoing(ex: Executor, clientId: string, messageId: unknown): Promise<Packet | undefined> {
  const m = int(messageId);
  if (m === null) return undefined;
  const rows = await query<OutgoingRow>(
    ex,
    sql`
    delete from mqtt_outgoing
    where id = (select id from mqtt_outgoing where client_id = ${clientId} and message_id = ${m}::integer order by id limit 1 for update)
    returning id, message_id, packet, payload, payload_is_string`,
  );
  return rows[0] ? outgoingPacket(rows[0]) : undefined;
}

/**
 * The client's queue in order, a page at a time. Like the in-memory queue's copy at call time, it stops at the last
 * packet queued when reading starts: packets queued meanwhile are delivered live, not twice.
 */
export async function* outgoingPackets(ex: Executor, clientId: string, pageSize: number): AsyncGenerator<Packet> {
  // Every persistent-session CONNECT reads its queue, usually empty: the first page fixes the end in the same query.
  let last: string | null = null;
  let after = '0';
  for (;;) {
    const end: SQL =
      last === null ? sql`(select max(id) from mqtt_outgoing where client_id = ${clientId})` : sql`${last}::bigint`;
    const rows = await query<OutgoingRow & { last: unknown }>(
      ex,
      sql`select id, message_id, packet, payload, payload_is_string, ${end} as last from mqtt_outgoing
          where client_id = ${clientId} and id > ${after}::bigint and id <= ${end}
          order by id limit ${pageSize}`,
    );
    for (const r of rows) yield outgoingPacket(r);
    if (rows.length < pageSize) return;
    last ??= String(rows[0]!.last);
    after = String(rows[rows.length - 1]!.id);
  }
}

// ---- incoming: QoS 2 publishes awaiting PUBREL ----

function incomingCopy(packet: Packet): Packet {
  const p = queuedCopy(packet);
  p.messageId = packet.messageId;
  return p;
}

export async function storeIncoming(ex: Executor, clientId: string, packet: Packet): Promise<void> {
  const messageId = int(packet.messageId);
  if (messageId === null) throw new Error('incoming packet without messageId');
  const enc = encodePacket(incomingCopy(packet), ['messageId']);
  const t = mqttIncoming;
  await ex
    .insert(t)
    .values({ clientId, messageId, ...enc })
    .onConflictDoUpdate({ target: [t.clientId, t.messageId], set: { ...enc, createdAt: sql`now()` } });
}

export async function getIncoming(ex: Executor, clientId: string, messageId: unknown): Promise<Packet> {
  const m = int(messageId);
  const t = mqttIncoming;
  const [row] =
    m === null
      ? []
      : await ex
          .select()
          .from(t)
          .where(and(eq(t.clientId, clientId), eq(t.messageId, m)));
  if (!row) throw new Error('no such packet');
  const p = decodePacket(row);
  p.messageId = row.messageId;
  return p;
}

export async function deleteIncoming(ex: Executor, clientId: string, messageId: unknown): Promise<void> {
  const m = int(messageId);
  const t = mqttIncoming;
  const rows =
    m === null
      ? []
      : await ex
          .delete(t)
          .where(and(eq(t.clientId, clientId), eq(t.messageId, m)))
          .returning({ m: t.messageId });
  if (rows.length === 0) throw new Error('no such packet');
}

export async function cleanIncoming(ex: Executor, clientId: string): Promise<void> {
  const t = mqttIncoming;
  await ex.delete(t).where(eq(t.clientId, clientId));
}
