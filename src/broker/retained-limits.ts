import { sql, type SQL } from 'drizzle-orm';
import { query, type Executor } from '../db/client.ts';
import { parseTopic } from '../domain/alink/topics.ts';
import type { Logger } from '../logger.ts';

/** The highest code point: with byte (`~<~`) order, every topic starting with `p` sorts below `p + MAX`. */
const MAX = String.fromCodePoint(0x10ffff);

export interface RetainedLimits {
  /** May this device retain a message on `topic` (it already holds one there, or holds fewer than the limit)? */
  admit(device: { productKey: string; deviceName: string }, topic: string): Promise<boolean>;
  stop(): void;
}

/**
 * Retained messages per device and their expiry (docs/security-device.md; D5 accepts retained messages in a device's own
 * namespace). A device's retained topics are counted over its namespaces: `/sys/${pk}/${dn}/…`, `/${pk}/${dn}/…`,
 * `/ext/session/${pk}/${dn}/…` (prefix ranges on the topic index) and its few fixed topics. A retained publish past
 * the limit is still ingested, just not retained; the caller tells the device (429 on /ext/error). Topics outside those
 * namespaces (custom-topic RRPC answers, `/ext/rrpc/…`, one per call) are never retained. A sweep deletes retained
 * messages older than the TTL.
 */
export function createRetainedLimits(opts: {
  db: Executor;
  maxPerDevice: number;
  ttlSeconds: number;
  logger: Logger;
  onRefused?: (device: { productKey: string; deviceName: string }, topic: string) => void;
}): RetainedLimits {
  const { db, maxPerDevice, ttlSeconds, logger } = opts;
  const sweep = async () => {
    const rows = await query<{ n: number }>(
      db,
      sql`with d as (delete from mqtt_retained where updated_at < now() - make_interval(secs => ${ttlSeconds}) returning 1) select count(*)::int as n from d`,
    );
    if (Number(rows[0]?.n ?? 0) > 0) logger.info({ deleted: rows[0]!.n }, 'expired retained messages deleted');
  };
  const timer = setInterval(
    () => void sweep().catch((err: unknown) => logger.warn({ err }, 'retained expiry sweep failed')),
    Math.min(ttlSeconds * 1000, 3_600_000) / 4,
  );
  timer.unref();
  void sweep().catch((err: unknown) => logger.warn({ err }, 'retained expiry sweep failed'));

  return {
    async admit(device, topic) {
      const kind = parseTopic(topic).kind;
      const ok = await (async () => {
        if (kind === 'extRrpc' || kind === 'unknown' || maxPerDevice === 0) return false;
        const { productKey: pk, deviceName: dn } = device;
        const prefixes = [`/sys/${pk}/${dn}/`, `/${pk}/${dn}/`, `/ext/session/${pk}/${dn}/`];
        const exact = [
          `/ext/ntp/${pk}/${dn}/request`,
          `/shadow/update/${pk}/${dn}`,
          ...['inform', 'progress', 'request'].map((a) => `/ota/device/${a}/${pk}/${dn}`),
        ];
        const ranges: SQL[] = prefixes.map(
          (p) => sql`(topic ~>=~ ${p} and topic ~<~ ${p + MAX} and starts_with(topic, ${p}))`,
        );
        ranges.push(
          sql`topic in (${sql.join(
            exact.map((e) => sql`${e}`),
            sql`, `,
          )})`,
        );
        const rows = await query<{ n: number; has: boolean | null }>(
          db,
          sql`select count(*)::int as n, bool_or(topic = ${topic}) as has from mqtt_retained where ${sql.join(ranges, sql` or `)}`,
        );
        const n = Number(rows[0]?.n ?? 0);
        return rows[0]?.has === true || n < maxPerDevice;
      })();
      if (!ok) {
        logger.info(
          { productKey: device.productKey, deviceName: device.deviceName, topic },
          'retained message not retained: limit reached',
        );
        opts.onRefused?.(device, topic);
      }
      return ok;
    },
    stop: () => clearInterval(timer),
  };
}

/** The notice a device gets on `/ext/error/${pk}/${dn}` when a retained publish was not retained (code 429, §3.10). */
export function retainedRefusedNotice(
  device: { productKey: string; deviceName: string },
  topic: string,
  max: number,
): { topic: string; payload: Buffer } {
  return {
    topic: `/ext/error/${device.productKey}/${device.deviceName}`,
    payload: Buffer.from(
      JSON.stringify({
        code: 429,
        data: { productKey: device.productKey, deviceName: device.deviceName, topic },
        message: `not retained: at most ${max} retained messages per device (the message itself was received)`,
      }),
    ),
  };
}
