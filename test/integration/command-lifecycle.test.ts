import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { commands } from '../../src/db/tables.ts';
import { GroupCommitter } from '../../src/events/committer.ts';
import { createLogger } from '../../src/logger.ts';
import { registerCommandSinks, type ReplyRow } from '../../src/services/command-replies.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { describeEachDb } from '../helpers/services-env.ts';

/**
 * The command record is what the waiting mutation answered (late answers are discarded), whatever order the
 * device's answer and the deadline reach the database in. The batch sinks are driven directly, on the real database,
 * so the orders that are races end to end (an answer landing in the same group commit as the timeout, or committed
 * just before it) are reproduced exactly.
 */
describeEachDb('the command lifecycle record on %s', (kind) => {
  const t = usePlatform(kind);
  let committer: GroupCommitter;
  let n = 0;
  beforeAll(async () => {
    // A generous delay: items submitted in one tick share one transaction, in submission order.
    committer = new GroupCommitter(t.platform.database, t.platform.log, createLogger('silent'), {
      delayMs: 20,
      maxBatch: 1000,
      maxQueue: 1000,
    });
    registerCommandSinks(committer);
  });
  afterAll(async () => {
    await committer?.close();
  });

  async function sent(): Promise<string> {
    const messageId = `9${String(++n).padStart(12, '0')}`;
    const row = {
      messageId,
      kind: 'RRPC',
      productKey: 'a1Bench',
      deviceName: 'dev',
      topic: `/sys/a1Bench/dev/rrpc/request/${messageId}`,
      status: 'SENT',
    };
    await committer.commit({ build: () => ({ events: [], rows: { commands: [row] } }) });
    return messageId;
  }
  const answer = (messageId: string) =>
    committer.commit({
      build: () => ({
        events: [],
        rows: {
          commandReplies: [
            {
              messageId,
              productKey: 'a1Bench',
              deviceName: 'dev',
              code: 200,
              output: { Done: 1 },
              payload: 'eyJEb25lIjoxfQ==',
            } satisfies ReplyRow,
          ],
        },
      }),
    });
  const timeout = (messageId: string) =>
    committer.commit({ build: () => ({ events: [], rows: { commandTimeouts: [messageId] } }) });
  const row = async (messageId: string) => {
    const [r] = await t.platform.database.db.select().from(commands).where(eq(commands.messageId, messageId));
    return (
      r && {
        status: r.status,
        code: r.code,
        output: r.output,
        replyPayload: r.replyPayload,
        replied: r.repliedAt !== null,
      }
    );
  };
  const TIMED_OUT = { status: 'TIMEOUT', code: null, output: null, replyPayload: null, replied: false };

  it('records an answer that came in time as REPLIED with its code and output as JSON', async () => {
    const id = await sent();
    await answer(id);
    expect(await row(id)).toEqual({
      status: 'REPLIED',
      code: 200,
      output: { Done: 1 },
      replyPayload: 'eyJEb25lIjoxfQ==',
      replied: true,
    });
  });

  it('keeps TIMEOUT when the answer arrives after the timeout was recorded', async () => {
    const id = await sent();
    await timeout(id);
    await answer(id);
    expect(await row(id)).toEqual(TIMED_OUT);
  });

  it('records TIMEOUT when the answer was committed but reached the waiting call after its deadline', async () => {
    const id = await sent();
    await answer(id);
    await timeout(id);
    expect(await row(id)).toEqual(TIMED_OUT);
  });

  it('records TIMEOUT when the answer and the timeout share one group commit, in either order', async () => {
    const a = await sent();
    const b = await sent();
    await Promise.all([answer(a), timeout(a), timeout(b), answer(b)]);
    expect(await row(a)).toEqual(TIMED_OUT);
    expect(await row(b)).toEqual(TIMED_OUT);
  });

  it('stores each command of one group commit with its input as JSON, and a reply output of JSON null as null', async () => {
    const ids = [`8${String(++n).padStart(12, '0')}`, `8${String(++n).padStart(12, '0')}`];
    const rows = [
      { input: { Times: 3, nested: { a: [1, 'x'] } }, callType: 'SYNC', identifier: 'Blink' },
      { input: null, callType: null, identifier: null },
    ].map((r, k) => ({
      messageId: ids[k]!,
      kind: k === 0 ? 'SERVICE' : 'RRPC',
      productKey: 'a1Bench',
      deviceName: 'dev',
      topic: `/sys/a1Bench/dev/rrpc/request/${ids[k]}`,
      status: 'SENT',
      ...r,
    }));
    await Promise.all(
      rows.map((row) => committer.commit({ build: () => ({ events: [], rows: { commands: [row] } }) })),
    );
    await committer.commit({
      build: () => ({
        events: [],
        rows: {
          commandReplies: [
            { messageId: ids[0]!, productKey: 'a1Bench', deviceName: 'dev', code: 200, output: null, payload: null },
            {
              messageId: ids[1]!,
              productKey: 'a1Bench',
              deviceName: 'dev',
              code: null,
              output: undefined,
              payload: 'eA==',
            },
          ] satisfies ReplyRow[],
        },
      }),
    });
    const stored = await t.platform.database.db.select().from(commands).where(inArray(commands.messageId, ids));
    const byId = new Map(stored.map((r) => [r.messageId, r]));
    expect(byId.get(ids[0]!)).toMatchObject({
      kind: 'SERVICE',
      identifier: 'Blink',
      callType: 'SYNC',
      input: { Times: 3, nested: { a: [1, 'x'] } },
      status: 'REPLIED',
      code: 200,
      replyPayload: null,
    });
    expect(byId.get(ids[1]!)).toMatchObject({
      kind: 'RRPC',
      identifier: null,
      callType: null,
      input: null,
      status: 'REPLIED',
      code: null,
      output: null,
      replyPayload: 'eA==',
    });
    expect(byId.get(ids[0]!)!.requestedAt).toBeInstanceOf(Date);
    // JSON null as jsonb, an absent output as SQL NULL (drizzle reads both as null): told apart in SQL.
    const raw = await t.platform.database.db.execute<{ message_id: string; json_null: boolean }>(
      sql`select message_id, output = 'null'::jsonb as json_null from commands where message_id in (${ids[0]!}, ${ids[1]!})`,
    );
    const rowsOf = Array.isArray(raw) ? raw : (raw as { rows: typeof raw }).rows;
    const nulls = new Map(
      (rowsOf as { message_id: string; json_null: boolean | null }[]).map((r) => [r.message_id, r.json_null]),
    );
    expect(nulls.get(ids[0]!)).toBe(true);
    expect(nulls.get(ids[1]!)).toBeNull();
  });
});
