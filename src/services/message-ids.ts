import type { Database } from '../db/client.ts';
import { nextMessageIdBlock } from '../db/repositories/message-ids.ts';

const BLOCK = 10_000;

/**
 * alink-protocol.md D17: platform message ids are decimal strings of a 64-bit integer, unique across instances and
 * increasing per instance. Blocks of ids are taken from a database sequence (hi/lo), so allocation costs one query
 * per 10,000 ids and ids stay below 2^53.
 */
export class MessageIds {
  private next = 0;
  private end = 0;
  private refill: Promise<void> | null = null;

  constructor(private readonly database: Database) {}

  async take(): Promise<string> {
    while (this.next >= this.end) {
      this.refill ??= (async () => {
        const block = await nextMessageIdBlock(this.database.db);
        this.next = block * BLOCK;
        this.end = this.next + BLOCK;
      })().finally(() => (this.refill = null));
      await this.refill;
    }
    return String(this.next++);
  }
}
