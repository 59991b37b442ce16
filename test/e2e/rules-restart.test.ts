import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFailed } from 'vitest';
import { connectDevice, productWithDevices } from '../helpers/devices.ts';
import { dbKinds, type TestPlatform } from '../helpers/platform.ts';
import { hookServer, persistentDatabase, ruleNumber, ruleState, startedRule, startOn, until } from './rules-support.ts';

/**
 * Rules consume the event log by cursor, so a restart neither loses nor re-runs
 * acknowledged work beyond at-least-once, and each delivery carries an idempotency key. Messages cannot be posted
 * while the platform is down, so the test posts them first, stops the platform while a delivery is in flight to a
 * slow webhook, and starts a new platform on the same database.
 */
describe.each(dbKinds())('rule deliveries across a restart (%s)', (kind) => {
  // Two platform starts on one database, and a shutdown that cuts a webhook call short: slow on a loaded machine.
  it('delivers every message at least once after a restart, re-runs no acknowledged delivery, and keeps each idempotency key stable', {
    timeout: 90_000,
  }, async () => {
    const N = 5;
    const t0 = Date.now();
    const trace: string[] = [];
    const step = (s: string) => trace.push(`${Date.now() - t0} ms ${s}`);
    onTestFailed(() => console.error(`rules-restart (${kind}) steps:\n${trace.join('\n')}`));
    const db = await persistentDatabase(kind);
    const adminToken = `admin-${randomBytes(12).toString('hex')}`;
    // Long retries and a long webhook timeout: nothing may be dead-lettered, and only the shutdown ends the slow call.
    const settings = { RULE_RETRY_BASE_MS: 50, RULE_RETRY_MAX_MS: 60_000 };
    let restarted = false;
    // Before the restart the endpoint answers seq 1 and 2 and never answers seq 3 (slow); afterwards it answers all.
    const hook = await hookServer((r) => (!restarted && Number(r.json?.seq) >= 3 ? 'hang' : 200));
    step('db ready');
    let t: TestPlatform | null = await startOn(db.settings, adminToken, settings);
    step('started');
    try {
      const { productKey: pk, devices } = await productWithDevices(t, 1);
      const dev = devices[0]!;
      const id = await startedRule(t, 'survives-restarts', `SELECT seq FROM "/${pk}/+/user/update"`, [
        { type: 'WEBHOOK', configuration: { url: hook.url(), timeoutMs: 60_000 } },
      ]);
      step('rule started');
      const c = await connectDevice(t, 'tcp', dev);
      step('connected');
      // QoS 1: each PUBACK means the message is in the event log.
      for (let seq = 1; seq <= N; seq++)
        await c.publishAsync(`/${pk}/${dev.deviceName}/user/update`, JSON.stringify({ seq }), { qos: 1 });
      step('published');
      await c.endAsync();
      step('disconnected');
      await until(
        'the delivery of seq 3 in flight',
        () => hook.requests,
        (r) => r.some((x) => x.json?.seq === 3),
      );
      expect(hook.accepted().map((r) => r.json.seq)).toEqual([1, 2]);

      step('seq 3 in flight');
      await t.close(); // with the delivery of seq 3 still waiting for its answer
      t = null;
      restarted = true;
      step('closed');
      t = await startOn(db.settings, adminToken, settings);
      step('restarted');

      const t2 = t;
      await until(
        'every message delivered after the restart',
        () => hook.accepted(),
        (a) => a.some((x) => x.json?.seq === N),
      );
      step('all delivered');
      const all = hook.requests;
      // At least once: every message was answered 2xx.
      expect([...new Set(hook.accepted().map((r) => r.json.seq))].sort()).toEqual([1, 2, 3, 4, 5]);
      // One idempotency key per message, the same on every attempt: duplicates are recognisable.
      expect(new Set(all.map((r) => r.key)).size).toBe(N);
      const seqOfKey = new Map<string, number>();
      for (const r of all) {
        expect(r.key).toMatch(new RegExp(`^${ruleNumber(id)}:\\d+:0$`));
        expect(seqOfKey.get(r.key) ?? r.json.seq).toBe(r.json.seq);
        seqOfKey.set(r.key, r.json.seq);
      }
      // Acknowledged work is not re-run: seq 1 and 2 were answered before the stop and were not sent again.
      const sent = (seq: number) => all.filter((r) => r.json.seq === seq);
      expect(sent(1).length).toBe(1);
      expect(sent(2).length).toBe(1);
      // The delivery cut short by the stop is made again, under the same key (at-least-once).
      expect(sent(3).map((r) => r.status)).toEqual(['hang', 200]);
      expect(sent(3)[0]!.key).toBe(sent(3)[1]!.key);
      // And messages the rule had not reached yet are delivered in order after it.
      expect(hook.accepted().map((r) => r.json.seq)).toEqual([1, 2, 3, 4, 5]);
      const state = await until(
        'the stats after the restart',
        () => ruleState(t2, id),
        (s) => s.stats.delivered >= N,
      );
      expect(state).toMatchObject({
        status: 'RUNNING',
        stats: { matched: N, delivered: N, failed: 0, deadLettered: 0 },
        lastError: null,
      });
    } finally {
      step('closing');
      await t?.close();
      step('closed');
      await hook.down();
      await db.drop();
      step('dropped');
    }
  });
});
