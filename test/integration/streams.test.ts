import { and, asc, eq, gt } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { events } from '../../src/db/tables.ts';
import { decodeCursor, encodeCursor } from '../../src/events/cursor.ts';
import { Collected } from '../helpers/graphql-ws.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import {
  createApiKey,
  createProduct,
  headCursor,
  mutateOk,
  registerDevices,
  sleep,
  streamClient,
  TRANSPORTS,
} from './support.ts';
import { describeEachDb } from '../helpers/services-env.ts';

const LIFECYCLE = `subscription($pk: String, $after: String) {
  deviceLifecycle(productKey: $pk, after: $after) { action productKey deviceName iotId time cursor gap { requestedAfter firstAvailableCursor } } }`;

/** The lifecycle events the log holds for a product after a position: what a resume must deliver, in order. */
async function storedAfter(
  t: TestPlatform,
  productKey: string,
  position: number,
): Promise<{ cursor: string; deviceName: string }[]> {
  const rows = await t.platform.database.db
    .select()
    .from(events)
    .where(and(eq(events.type, 'device.lifecycle'), eq(events.productKey, productKey), gt(events.position, position)))
    .orderBy(asc(events.position));
  return rows.map((r) => ({ cursor: encodeCursor(r.position), deviceName: r.deviceName! }));
}

const names = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);

describeEachDb('event streams on %s', (kind) => {
  const t = usePlatform(kind);

  describe.each(TRANSPORTS)('over %s', (transport) => {
    it('delivers create, disable, enable and delete of a product in commit order', async () => {
      const { productKey: pk } = await createProduct(t, { name: 'Live lamp' });
      const client = streamClient(transport, t);
      const live = Collected.subscribe(client, LIFECYCLE, { pk, after: await headCursor(t) });
      const [d] = await registerDevices(t, pk, ['live-001']);
      await mutateOk(t, 'disableDevice', { productKey: pk, deviceName: 'live-001' });
      await mutateOk(t, 'enableDevice', { productKey: pk, deviceName: 'live-001' });
      await mutateOk(t, 'deleteDevice', { productKey: pk, deviceName: 'live-001' });
      const got = await live.waitFor(4);
      expect(got.map((e: any) => e.deviceLifecycle.action)).toEqual(['CREATE', 'DISABLE', 'ENABLE', 'DELETE']);
      for (const e of got) {
        expect(e.deviceLifecycle).toMatchObject({ productKey: pk, deviceName: 'live-001', iotId: d!.iotId, gap: null });
        expect(Date.parse(e.deviceLifecycle.time)).toBeGreaterThan(Date.now() - 60_000);
      }
      const positions = got.map((e: any) => decodeCursor(e.deviceLifecycle.cursor));
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      expect(new Set(positions).size).toBe(4);
      live.unsubscribe();
      await client.dispose();
    });

    it('resumes from a cursor with exactly the events after it while three registerDevices calls run concurrently', async () => {
      for (const [round, stagger] of [0, 3, 15].entries()) {
        const { productKey: pk } = await createProduct(t, { name: `Resume lamp ${round}` });
        await registerDevices(t, pk, names(`old${round}`, 20));
        const before = await storedAfter(t, pk, 0);
        expect(before).toHaveLength(20);
        const resumeAfter = before[9]!.cursor;

        const client = streamClient(transport, t);
        const resumed = Collected.subscribe(client, LIFECYCLE, { pk, after: resumeAfter });
        await Promise.all(
          ['a', 'b', 'c'].map(async (batch, i) => {
            await sleep(i * stagger);
            await registerDevices(t, pk, names(`new${round}${batch}`, 10));
          }),
        );
        const expected = await storedAfter(t, pk, decodeCursor(resumeAfter));
        expect(expected).toHaveLength(10 + 30);
        const got = await resumed.waitFor(expected.length);
        // Nothing more may arrive: this window proves a negative, so it is a real delay.
        await sleep(150);
        expect(resumed.items, `round ${round}: no duplicate or extra event`).toHaveLength(expected.length);
        expect(
          got.map((e: any) => e.deviceLifecycle.cursor),
          `round ${round}`,
        ).toEqual(expected.map((e) => e.cursor));
        expect(got.map((e: any) => e.deviceLifecycle.deviceName)).toEqual(expected.map((e) => e.deviceName));
        expect(got.every((e: any) => e.deviceLifecycle.gap === null)).toBe(true);
        resumed.unsubscribe();
        await client.dispose();
      }
    });

    it('resumes from its own last cursor after a disconnect without losing what happened in between', async () => {
      const { productKey: pk } = await createProduct(t, { name: 'Reconnect lamp' });
      const first = streamClient(transport, t);
      const a = Collected.subscribe(first, LIFECYCLE, { pk, after: await headCursor(t) });
      await registerDevices(t, pk, names('before', 3));
      const seen = await a.waitFor(3);
      a.unsubscribe();
      await first.dispose();

      await registerDevices(t, pk, names('while-away', 4));
      const second = streamClient(transport, t);
      const b = Collected.subscribe(second, LIFECYCLE, { pk, after: seen[2].deviceLifecycle.cursor });
      const caught = await b.waitFor(4);
      expect(caught.map((e: any) => e.deviceLifecycle.deviceName)).toEqual(names('while-away', 4));
      await registerDevices(t, pk, ['after-001']);
      expect((await b.waitFor(5))[4].deviceLifecycle.deviceName).toBe('after-001');
      b.unsubscribe();
      await second.dispose();
    });

    it('keeps products apart: a productKey filter delivers only that product', async () => {
      const { productKey: pkA } = await createProduct(t, { name: 'Filter A' });
      const { productKey: pkB } = await createProduct(t, { name: 'Filter B' });
      const client = streamClient(transport, t);
      const onlyA = Collected.subscribe(client, LIFECYCLE, { pk: pkA, after: await headCursor(t) });
      await registerDevices(t, pkB, ['b-only-1']);
      await registerDevices(t, pkA, ['a-only-1']);
      await registerDevices(t, pkB, ['b-only-2']);
      await registerDevices(t, pkA, ['a-only-2']);
      const got = await onlyA.waitFor(2);
      // Nothing more may arrive: this window proves a negative, so it is a real delay.
      await sleep(100);
      expect(onlyA.items.map((e: any) => e.deviceLifecycle.deviceName)).toEqual(['a-only-1', 'a-only-2']);
      expect(got.every((e: any) => e.deviceLifecycle.productKey === pkA)).toBe(true);
      onlyA.unsubscribe();
      await client.dispose();
    });

    it('refuses a malformed cursor with BAD_USER_INPUT', async () => {
      for (const after of [
        'not-a-cursor',
        Buffer.from('k:12').toString('base64url'),
        Buffer.from('e:-1').toString('base64url'),
      ]) {
        const client = streamClient(transport, t);
        const c = Collected.subscribe(client, LIFECYCLE, { after });
        await expect(c.waitFor(1, 5000)).rejects.toThrow(/BAD_USER_INPUT/);
        expect(JSON.stringify(c.error)).toContain('INVALID_CURSOR');
        await client.dispose();
      }
    });

    it('refuses a subscription without a valid token', async () => {
      for (const token of [null, 'not-a-token']) {
        const client = streamClient(transport, t, token);
        const c = Collected.subscribe(client, LIFECYCLE, {});
        await expect(c.waitFor(1, 5000)).rejects.toThrow();
        if (transport === 'SSE') expect((c.error as { status: number }).status).toBe(401);
        else expect((c.error as { code: number }).code).toBe(4401);
        await client.dispose();
      }
    });

    it('lets a VIEWER subscribe', async () => {
      const viewer = await createApiKey(t, 'VIEWER');
      const { productKey: pk } = await createProduct(t, { name: 'Viewer lamp' });
      const client = streamClient(transport, t, viewer.token);
      const c = Collected.subscribe(client, LIFECYCLE, { pk, after: await headCursor(t) });
      await registerDevices(t, pk, ['seen-by-viewer']);
      expect((await c.waitFor(1))[0].deviceLifecycle.deviceName).toBe('seen-by-viewer');
      c.unsubscribe();
      await client.dispose();
    });
  });

  // Last: pruning is global. Each test uses products of its own, so earlier prunes do not disturb later ones.
  describe.each(TRANSPORTS)('retention over %s', (transport) => {
    it('sends one gap notice, on the first event, when retention removed everything after the cursor', async () => {
      const { productKey: pk } = await createProduct(t, { name: 'Pruned lamp' });
      await registerDevices(t, pk, names('gone', 5));
      const old = (await storedAfter(t, pk, 0))[1]!.cursor;
      expect(await t.platform.log.prune(new Date(Date.now() + 1000))).toBeGreaterThanOrEqual(5);

      const client = streamClient(transport, t);
      const c = Collected.subscribe(client, LIFECYCLE, { pk, after: old });
      // Nothing more may arrive: this window proves a negative, so it is a real delay.
      await sleep(300);
      expect(c.items, 'nothing is left to replay').toEqual([]);
      await registerDevices(t, pk, ['fresh-001', 'fresh-002']);
      const [first, second] = await c.waitFor(2);
      expect(first.deviceLifecycle.deviceName).toBe('fresh-001');
      expect(first.deviceLifecycle.gap).not.toBeNull();
      expect(first.deviceLifecycle.gap.requestedAfter).toBe(old);
      expect(decodeCursor(first.deviceLifecycle.gap.firstAvailableCursor)).toBeGreaterThan(decodeCursor(old));
      expect(decodeCursor(first.deviceLifecycle.gap.firstAvailableCursor)).toBeLessThan(
        decodeCursor(first.deviceLifecycle.cursor),
      );
      expect(second.deviceLifecycle.gap).toBeNull();
      c.unsubscribe();
      await client.dispose();
    });

    it('sends the gap notice on the first replayed event when retention removed only older events', async () => {
      const { productKey: pk } = await createProduct(t, { name: 'Half pruned' });
      await registerDevices(t, pk, names('older', 3));
      const oldEvents = await storedAfter(t, pk, 0);
      await sleep(60);
      const cutoff = new Date();
      await sleep(60);
      await registerDevices(t, pk, names('newer', 3));
      await t.platform.log.prune(cutoff);
      const kept = await storedAfter(t, pk, 0);
      expect(kept.map((e) => e.deviceName)).toEqual(names('newer', 3));

      const client = streamClient(transport, t);
      const c = Collected.subscribe(client, LIFECYCLE, { pk, after: oldEvents[0]!.cursor });
      const got = await c.waitFor(3);
      expect(got.map((e: any) => e.deviceLifecycle.cursor)).toEqual(kept.map((e) => e.cursor));
      expect(got[0].deviceLifecycle.gap).toMatchObject({ requestedAfter: oldEvents[0]!.cursor });
      expect(got.slice(1).map((e: any) => e.deviceLifecycle.gap)).toEqual([null, null]);

      // Resuming where the gap notice says the log now starts is gap-free and yields the same events.
      const again = Collected.subscribe(client, LIFECYCLE, {
        pk,
        after: got[0].deviceLifecycle.gap.firstAvailableCursor,
      });
      const replay = await again.waitFor(3);
      expect(replay.map((e: any) => e.deviceLifecycle.cursor)).toEqual(kept.map((e) => e.cursor));
      expect(replay.map((e: any) => e.deviceLifecycle.gap)).toEqual([null, null, null]);
      c.unsubscribe();
      again.unsubscribe();
      await client.dispose();
    });
  });
});
