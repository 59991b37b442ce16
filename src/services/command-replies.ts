import { sql } from 'drizzle-orm';
import { commands } from '../db/tables.ts';
import type { GroupCommitter } from '../events/committer.ts';
import type { EventHub } from '../events/hub.ts';

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
    hub.on(['command.reply', 'thing.downlink.reply'], (e) => {
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
