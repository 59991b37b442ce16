import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { connectDevice, sleep, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform, useProduct } from '../helpers/use-platform.ts';
import { deadLetters, hookServer, ruleNumber, ruleState, startedRule, type Hook } from './rules-support.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * "A webhook target that is down for 30 s receives every message once it is back (retries)".
 *
 * Production defaults (RULE_RETRY_BASE_MS 1000, RULE_RETRY_MAX_MS 120000) retry with a doubling backoff (capped at
 * 30 s) for 120 s before a delivery is dead-lettered, so a 30 s outage is ridden out. To stay fast this suite keeps the
 * same mechanism with a 50 ms first retry and holds the endpoint down for about 1 s; RULE_RETRY_MAX_MS stays far above
 * the outage, so nothing may be dead-lettered. What is proven is the same: the rule waits, keeps order, loses nothing.
 */
describe('webhook retries through an outage', () => {
  const t = usePlatform('pglite', { RULE_RETRY_BASE_MS: 50, RULE_RETRY_MAX_MS: 30_000 });
  const fleet = useProduct(t, 2);

  const N = 6;

  async function postSequence(c: MqttClient, dev: DeviceCreds): Promise<void> {
    // QoS 1: the PUBACK comes once the message is committed to the event log (architecture.md "durable before acknowledged").
    for (let seq = 1; seq <= N; seq++)
      await c.publishAsync(`/${fleet.pk}/${dev.deviceName}/user/update`, JSON.stringify({ seq }), { qos: 1 });
  }

  const outages: [string, number, (hook: Hook) => Promise<void>, (hook: Hook) => Promise<void>][] = [
    [
      'refused connections (the server was closed, then reopened on the same port)',
      0,
      (hook) => hook.down(),
      (hook) => hook.up(),
    ],
    [
      'answered HTTP 503',
      1,
      async (hook) => hook.setResponder(() => 503),
      async (hook) => hook.setResponder(() => 200),
    ],
  ];

  it.each(outages)(
    'delivers every message, once and in order, to a webhook that %s for a while',
    async (_what, devIndex, goDown, comeBack) => {
      const dev = fleet.devs[devIndex]!;
      const hook = await hookServer();
      const id = await startedRule(
        t,
        `outage-${devIndex}`,
        `SELECT seq, deviceName() AS dn FROM "/${fleet.pk}/${dev.deviceName}/user/update"`,
        [{ type: 'WEBHOOK', configuration: { url: hook.url() } }],
      );

      try {
        await goDown(hook);
        const c = await connectDevice(t, 'tcp', dev);
        await postSequence(c, dev);
        await c.endAsync();
        await sleep(1000); // the outage
        // Deliveries were tried again and again while it was down: a 503 endpoint sees the first message several times
        // (a closed port sees nothing; the rule's stats count a message only once it is settled)...
        if (devIndex === 1)
          await waitFor(() => hook.requests.filter((r) => r.status === 503).length, {
            until: (n) => n >= 2,
            message: 'retries of the first message',
            timeout: 15_000,
          });
        expect(hook.accepted()).toEqual([]);
        await comeBack(hook);
        // ...and once it is back, everything arrives.
        const got = await waitFor(() => hook.accepted(), {
          until: (a) => a.length >= N,
          message: 'every message delivered',
          timeout: 15_000,
        });
        expect(got.map((r) => r.json)).toEqual(
          Array.from({ length: N }, (_, i) => ({ seq: i + 1, dn: dev.deviceName })),
        );
        expect(new Set(got.map((r) => r.key)).size).toBe(N);
        for (const r of got) expect(r.key).toMatch(new RegExp(`^${ruleNumber(id)}:\\d+:0$`));
        const state = await waitFor(() => ruleState(t, id), {
          until: (s) => s.stats.delivered >= N,
          message: 'stats of the delivered messages',
          timeout: 15_000,
        });
        expect(state.stats).toEqual({ matched: N, delivered: N, failed: 0, deadLettered: 0 });
        expect(state.lastError).toBeNull();
        expect(await deadLetters(t, id)).toEqual([]);
        // Nothing was delivered twice: no message arrived after its own 2xx answer.
        expect(hook.accepted().length).toBe(N);
      } finally {
        await hook.down();
      }
    },
  );
});
