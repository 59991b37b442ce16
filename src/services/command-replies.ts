import { sql } from 'drizzle-orm';
import { decodeReply } from '../domain/alink/envelope.ts';
import { parseTopic } from '../domain/alink/topics.ts';
import { commands } from '../db/tables.ts';
import type { GroupCommitter } from '../events/committer.ts';
import type { EventHub } from '../events/hub.ts';
import type { NewEvent } from '../events/types.ts';
import type { TopicHandler } from './ingest.ts';

type CommandRow = typeof commands.$inferInsert;

export interface ReplyRow {
  messageId: string;
  productKey: string;
  deviceName: string;
  code: number | null;
  output: unknown;
  payload: string | null;
}

/** What a waiting mutation gets back: the device's raw answer and, when it is an Alink reply, its code and data. */
export interface CommandReply {
  messageId: string;
  productKey: string;
  deviceName: string;
  payload: string;
  code: number | null;
  data: unknown;
}

/** Batch sinks of the command lifecycle: inserts at send, updates on reply or timeout (one statement per commit). */
export function registerCommandSinks(committer: GroupCommitter): void {
  committer.sink('commands', async (tx, rows) => {
    for (let i = 0; i < rows.length; i += 1000) await tx.insert(commands).values(rows.slice(i, i + 1000) as CommandRow[]);
  });
  committer.sink('commandReplies', async (tx, rows) => {
    const list = rows as ReplyRow[];
    for (let i = 0; i < list.length; i += 500) {
      // The output goes as text and is cast by the server: a parameter typed jsonb would make postgres.js
      // JSON-encode the already encoded string again (a jsonb *string* on PostgreSQL, an object on PGlite).
      const values = sql.join(
        list
          .slice(i, i + 500)
          .map((r) => sql`(${r.messageId}::text, ${r.productKey}::text, ${r.deviceName}::text, ${r.code}::int, ${r.output === undefined ? null : JSON.stringify(r.output)}::text::jsonb, ${r.payload}::text)`),
        sql`, `,
      );
      // Late answers (after TIMEOUT) are discarded: only a command still waiting takes the reply.
      await tx.execute(sql`update ${commands} c set status = 'REPLIED', code = v.code, output = v.output, reply_payload = v.payload, replied_at = now()
        from (values ${values}) as v(message_id, product_key, device_name, code, output, payload)
        where c.message_id = v.message_id and c.product_key = v.product_key and c.device_name = v.device_name and c.status in ('SENT', 'OFFLINE')`);
    }
  });
  committer.sink('commandTimeouts', async (tx, rows) => {
    const ids = (rows as string[]).map((id) => sql`${id}`);
    // The waiting mutation decides: it answered TIMEOUT, so the record says TIMEOUT. An answer committed after the
    // deadline but before this update (a later batch, or earlier in the same one) is a late answer and is discarded
    // like any other; without this the record could say REPLIED while the caller was told TIMEOUT.
    await tx.execute(sql`update ${commands} set status = 'TIMEOUT', code = null, output = null, reply_payload = null, replied_at = null
      where status in ('SENT', 'REPLIED') and message_id in (${sql.join(ids, sql`, `)})`);
  });
}

/**
 * Matches replies to waiting mutations by message id. Replies arrive as committed events through the hub, so the
 * instance holding the device and the instance holding the waiting mutation need not be the same.
 */
export class CommandTracker {
  private readonly waiters = new Map<string, { productKey: string; deviceName: string; resolve: (r: CommandReply | null) => void; timer: NodeJS.Timeout }>();

  constructor(hub: EventHub) {
    hub.subscribe((e) => {
      if (e.type !== 'command.reply' && e.type !== 'thing.downlink.reply') return;
      const id = String(e.data.requestId ?? '');
      const w = this.waiters.get(id);
      if (!w || w.productKey !== e.productKey || w.deviceName !== e.deviceName) return;
      this.waiters.delete(id);
      clearTimeout(w.timer);
      w.resolve({
        messageId: id,
        productKey: w.productKey,
        deviceName: w.deviceName,
        payload: String(e.data.payload ?? ''),
        code: typeof e.data.code === 'number' ? e.data.code : null,
        data: e.data.data,
      });
    });
  }

  /** Register before sending; resolves with the reply, or null after `timeoutMs`. */
  wait(messageId: string, productKey: string, deviceName: string, timeoutMs: number): Promise<CommandReply | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(messageId);
        resolve(null);
      }, timeoutMs);
      this.waiters.set(messageId, { productKey, deviceName, resolve, timer });
    });
  }

  cancel(messageId: string): void {
    const w = this.waiters.get(messageId);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiters.delete(messageId);
    w.resolve(null);
  }

  get pending(): number {
    return this.waiters.size;
  }
}

/** Which upstream topics carry command replies. */
export function replyRoute(topic: string): 'rrpc' | 'downlink' | null {
  const t = parseTopic(topic);
  if (t.kind === 'extRrpc') return 'rrpc';
  if (t.kind !== 'sys') return null;
  const p = t.path;
  if (p.length === 3 && p[0] === 'rrpc' && p[1] === 'response') return 'rrpc';
  // thing/service/${id}_reply and thing/service/property/{set,get}_reply (alink-protocol.md §2.3)
  if (p[0] === 'thing' && p[1] === 'service' && p[p.length - 1]!.endsWith('_reply') && (p.length === 3 || (p.length === 4 && p[2] === 'property'))) return 'downlink';
  return null;
}

/**
 * Device answers (alink-protocol.md §2.5, §3.4, §3.7, §6.7, D12, D13): RRPC responses become `command.reply`
 * events (the waiting `rrpc`/sync service mutation picks them up); replies to async services and property sets
 * become `thing.downlink.reply` events in the reference's forwarding shape.
 */
export function createReplyHandlers() {
  const rrpc: TopicHandler = async ({ device, msg, receivedAt }) => {
    const t = parseTopic(msg.topic);
    const messageId = t.kind === 'extRrpc' ? t.messageId : t.kind === 'sys' ? t.path[2]! : '';
    if (!/^\d{1,20}$/.test(messageId)) return null;
    const parsed = decodeReply(msg.payload);
    const code = parsed.ok ? parsed.value.code : null;
    const data = parsed.ok ? parsed.value.data : null;
    const payload = msg.payload.toString('base64');
    const event: NewEvent = {
      type: 'command.reply',
      productKey: device.productKey,
      deviceName: device.deviceName,
      data: { requestId: messageId, productKey: device.productKey, deviceName: device.deviceName, iotId: device.iotId, topic: msg.topic, payload, code, data, gmtCreate: receivedAt.getTime() },
    };
    const row: ReplyRow = { messageId, productKey: device.productKey, deviceName: device.deviceName, code, output: data ?? null, payload };
    return { events: [event], rows: { commandReplies: [row] }, after: [] };
  };

  const downlink: TopicHandler = async ({ device, msg, receivedAt }) => {
    const parsed = decodeReply(msg.payload);
    const requestTopic = msg.topic.slice(0, -'_reply'.length);
    const reply = parsed.ok ? parsed.value : null;
    const requestId = reply?.id ?? (parsed.ok ? undefined : parsed.error.id);
    const code = reply ? reply.code : 460;
    const event: NewEvent = {
      type: 'thing.downlink.reply',
      productKey: device.productKey,
      deviceName: device.deviceName,
      // alink-protocol.md §6.7
      data: {
        gmtCreate: receivedAt.getTime(),
        iotId: device.iotId,
        productKey: device.productKey,
        deviceName: device.deviceName,
        requestId: requestId ?? null,
        code,
        message: reply?.message ?? (reply ? (code === 200 ? 'success' : '') : 'reply is not a valid Alink reply'),
        topic: requestTopic,
        data: reply?.data ?? {},
        payload: msg.payload.toString('base64'),
      },
    };
    const replyRows: ReplyRow[] = requestId
      ? [{ messageId: requestId, productKey: device.productKey, deviceName: device.deviceName, code, output: reply?.data ?? null, payload: null }]
      : [];
    const rows = { commandReplies: replyRows };
    return { events: [event], rows, after: [] };
  };

  return { rrpc, downlink };
}
