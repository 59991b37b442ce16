import {
  insertCommands,
  recordCommandReplies,
  recordCommandTimeouts,
  type CommandRow,
  type ReplyRow,
} from '../db/repositories/commands.ts';
import type { GroupCommitter } from '../events/committer.ts';
import type { EventHub } from '../events/hub.ts';

export type { ReplyRow };

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
  committer.sink('commands', (tx, rows) => insertCommands(tx, rows as CommandRow[]));
  committer.sink('commandReplies', (tx, rows) => recordCommandReplies(tx, rows as ReplyRow[]));
  committer.sink('commandTimeouts', (tx, rows) => recordCommandTimeouts(tx, rows as string[]));
}

/**
 * Matches replies to waiting mutations by message id. Replies arrive as committed events through the hub, so the
 * instance holding the device and the instance holding the waiting mutation need not be the same.
 */
export class CommandTracker {
  private readonly waiters = new Map<
    string,
    { productKey: string; deviceName: string; resolve: (r: CommandReply | null) => void; timer: NodeJS.Timeout }
  >();

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
