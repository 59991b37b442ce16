import { eq, sql, type SQL } from 'drizzle-orm';
import qlobber from 'qlobber';
import { query, type Executor } from '../../db/client.ts';
import { mqttRetained } from '../../db/schema/broker.ts';
import { decodePacket, encodePacket, payloadLength, type Packet } from './codec.ts';
import { QLOBBER_OPTIONS } from './subscriptions.ts';

/** storeRetained: an empty payload removes the topic's retained message [MQTT-3.3.1-10]. */
export async function storeRetained(ex: Executor, packet: Packet): Promise<void> {
  const t = mqttRetained;
  const topic = String(packet.topic);
  if (payloadLength(packet) === 0) {
    await ex.delete(t).where(eq(t.topic, topic));
    return;
  }
  const enc = encodePacket(packet);
  await ex
    .insert(t)
    .values({ topic, ...enc })
    .onConflictDoUpdate({ target: t.topic, set: { ...enc, updatedAt: sql`now()` } });
}

const isWildcard = (level: string) => level === '+' || level === '#';

/** The highest code point: with byte (`~<~`) order, every topic starting with `p` sorts below `p + MAX`. */
const MAX = String.fromCodePoint(0x10ffff);

/**
 * The SQL that narrows a set of filters to candidate rows: equality for filters without wildcards, a prefix range
 * on the literal levels before the first wildcard otherwise (served by the `text_pattern_ops` index). A filter that
 * starts with a wildcard needs every row. The exact match is left to Qlobber.
 */
function candidates(patterns: readonly string[]): SQL | null {
  const t = mqttRetained;
  const ors: SQL[] = [];
  for (const p of patterns) {
    const levels = p.split('/');
    const first = levels.findIndex(isWildcard);
    if (first === -1) {
      ors.push(sql`${t.topic} = ${p}`);
    } else if (first === 0) {
      return null;
    } else {
      const prefix = levels.slice(0, first).join('/');
      ors.push(
        sql`(${t.topic} ~>=~ ${prefix} and ${t.topic} ~<~ ${prefix + MAX} and starts_with(${t.topic}, ${prefix}))`,
      );
    }
  }
  return sql`(${sql.join(ors, sql` or `)})`;
}

/** Qlobber for the filters, plus [MQTT-4.7.2-1]: a filter starting with a wildcard does not match `$` topics. */
function matcher(patterns: readonly string[]): (topic: string) => boolean {
  const normal = new qlobber.QlobberTrue(QLOBBER_OPTIONS);
  const wild = new qlobber.QlobberTrue(QLOBBER_OPTIONS);
  for (const p of patterns) (isWildcard(p.split('/', 1)[0]!) ? wild : normal).add(p);
  return (topic) => {
    try {
      return normal.test(topic) || (!topic.startsWith('$') && wild.test(topic));
    } catch {
      return false; // deeper than Qlobber's 100 levels: aedes refuses such topics anyway
    }
  };
}

interface RetainedRow {
  topic: string;
  packet: unknown;
  payload: Uint8Array | null;
  payload_is_string: boolean;
}

/**
 * Retained messages matching any of the filters, each once, in topic (byte) order, read a page at a time so that a
 * `#` subscription over many retained topics does not load them all at once.
 */
export async function* retainedMatching(
  ex: Executor,
  patterns: readonly string[],
  pageSize: number,
): AsyncGenerator<Packet> {
  if (patterns.length === 0) return;
  const where = candidates(patterns);
  const matches = matcher(patterns);
  let after: string | null = null;
  for (;;) {
    const conds: SQL[] = [];
    if (where) conds.push(where);
    if (after !== null) conds.push(sql`topic ~>~ ${after}`);
    const filter = conds.length > 0 ? sql`where ${sql.join(conds, sql` and `)}` : sql``;
    const rows: RetainedRow[] = await query<RetainedRow>(
      ex,
      sql`select topic, packet, payload, payload_is_string from mqtt_retained ${filter} order by topic using ~<~ limit ${pageSize}`,
    );
    for (const r of rows) {
      if (matches(r.topic))
        yield decodePacket({ packet: r.packet, payload: r.payload, payloadIsString: r.payload_is_string });
    }
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]!.topic;
  }
}
