import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { connectDevice, nextMessage, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform, useProduct } from '../helpers/use-platform.ts';
import { deadLetters, hookServer, redrive, ruleNumber, ruleState, startedRule } from './rules-support.ts';
import { waitFor } from '../helpers/wait.ts';
import { requireService } from '../helpers/services-env.ts';
import { sensorTsl } from '../helpers/tsl-fixtures.ts';

/**
 * Deliveries that cannot be made: after their retries (kept short here: RULE_RETRY_MAX_MS 300 instead of the 120 s
 * default) they go to the dead-letter store and to the rule's error actions, with an error text that says why and
 * carries no credentials; meanwhile the platform keeps serving.
 */
describe('failed deliveries: dead letters, error actions, unreachable servers', () => {
  const t = usePlatform('pglite', { RULE_RETRY_BASE_MS: 20, RULE_RETRY_MAX_MS: 300 });
  const fleet = useProduct(t, 5, { tsl: sensorTsl });

  async function publishSeq(dev: DeviceCreds, from: number, to: number): Promise<void> {
    const c = await connectDevice(t, 'tcp', dev);
    for (let seq = from; seq <= to; seq++)
      await c.publishAsync(`/${fleet.pk}/${dev.deviceName}/user/update`, JSON.stringify({ seq }), { qos: 1 });
    await c.endAsync();
  }

  it('dead-letters deliveries to a webhook that refuses connections and never comes back, and re-drives them once it is fixed', async () => {
    const dev = fleet.devs[0]!;
    const hook = await hookServer();
    await hook.down(); // nothing listens on its port: connection refused
    const id = await startedRule(t, 'never-back', `SELECT seq FROM "/${fleet.pk}/${dev.deviceName}/user/update"`, [
      { type: 'WEBHOOK', configuration: { url: hook.url() } },
    ]);
    await publishSeq(dev, 1, 3);

    const dls = await waitFor(() => deadLetters(t, id), {
      until: (d) => d.length >= 3,
      message: 'three dead letters',
      timeout: 15_000,
    });
    expect(dls.map((d) => d.output)).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
    for (const d of dls) {
      expect(d.error).toContain(`webhook ${hook.url()} unreachable`);
      expect(d.error).toContain('ECONNREFUSED');
      // Retried until RULE_RETRY_MAX_MS (how many times depends on the machine's speed; rules-retries.test.ts proves
      // that retries carry a delivery through an outage).
      expect(d.attempts).toBeGreaterThanOrEqual(1);
      expect(d.deliveryKey).toMatch(new RegExp(`^${ruleNumber(id)}:\\d+:0$`));
      expect(d.topic).toBe(`/${fleet.pk}/${dev.deviceName}/user/update`);
      expect(d.redrivenAt).toBeNull();
    }
    const state = await waitFor(() => ruleState(t, id), {
      until: (s) => s.stats.deadLettered >= 3,
      message: 'the rule stats',
      timeout: 15_000,
    });
    expect(state.stats).toEqual({ matched: 3, delivered: 0, failed: 3, deadLettered: 3 });
    expect(state.lastError).toContain('ECONNREFUSED');

    // Still down: re-driving (in the background) fails, and every dead letter stays, with one more attempt counted.
    expect(await redrive(t, id)).toEqual({ redriven: 3, failed: 0, userErrors: [] });
    const retried = await waitFor(() => deadLetters(t, id), {
      until: (d) => d.every((x, i) => x.attempts === dls[i]!.attempts + 1),
      message: 'one more attempt each',
      timeout: 15_000,
    });
    expect(retried.every((d) => d.redrivenAt === null)).toBe(true);

    await hook.up(); // fixed, on the same URL
    expect(await redrive(t, id)).toEqual({ redriven: 3, failed: 0, userErrors: [] });
    await waitFor(() => deadLetters(t, id), {
      until: (d) => d.every((x) => x.redrivenAt !== null),
      message: 'all re-driven',
      timeout: 15_000,
    });
    expect(hook.accepted().map((r) => r.json)).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
    // The re-driven deliveries carry the idempotency keys of the original ones.
    expect(hook.accepted().map((r) => r.key)).toEqual(dls.map((d) => d.deliveryKey));
    // A dead letter is re-driven once.
    expect(await redrive(t, id)).toEqual({ redriven: 0, failed: 0, userErrors: [] });
    expect(hook.requests.length).toBe(3);
    await hook.down();
  });

  it('does not retry a webhook that answers 4xx: the delivery is dead-lettered after one attempt', async () => {
    const dev = fleet.devs[1]!;
    const hook = await hookServer(() => 400);
    const id = await startedRule(t, 'bad-request', `SELECT seq FROM "/${fleet.pk}/${dev.deviceName}/user/update"`, [
      { type: 'WEBHOOK', configuration: { url: hook.url() } },
    ]);
    await publishSeq(dev, 1, 1);
    const [dl] = await waitFor(() => deadLetters(t, id), {
      until: (d) => d.length >= 1,
      message: 'a dead letter',
      timeout: 15_000,
    });
    expect(dl).toMatchObject({ attempts: 1, output: { seq: 1 } });
    expect(dl!.error).toContain('answered HTTP 400');
    expect(hook.requests.length).toBe(1);
    await hook.down();
  });

  it('gives an error action what the other actions failed to deliver, and nothing that was delivered', async () => {
    const [dev, other] = [fleet.devs[2]!, fleet.devs[3]!];
    const ok = await hookServer();
    const errors = await hookServer();
    const gone = await hookServer();
    await gone.down();
    const id = await startedRule(
      t,
      'with-error-action',
      `SELECT seq, deviceName() AS dn FROM "/${fleet.pk}/${dev.deviceName}/user/update"`,
      [
        // `user/update` is a PUB category: another device may not receive it (alink-protocol.md D7), retrying cannot help.
        { type: 'REPUBLISH', configuration: { topic: `/${fleet.pk}/${other.deviceName}/user/update` } },
        { type: 'WEBHOOK', configuration: { url: gone.url() } },
        { type: 'WEBHOOK', configuration: { url: ok.url() } },
        {
          type: 'WEBHOOK',
          configuration: {
            url: errors.url('/errors'),
            bodyTemplate:
              '{"failed":"${action}#${actionIndex}","why":"${error}","key":"${deliveryKey}","seq":${output.seq}}',
          },
          errorAction: true,
        },
      ],
    );
    await publishSeq(dev, 1, 1);

    const got = await waitFor(() => errors.accepted(), {
      until: (a) => a.length >= 2,
      message: 'two error deliveries',
      timeout: 15_000,
    });
    const n = ruleNumber(id);
    expect(got.map((r) => r.json.failed)).toEqual(['REPUBLISH#0', 'WEBHOOK#1']);
    expect(got[0]!.json.why).toContain('TOPIC_NOT_ALLOWED');
    expect(got[1]!.json.why).toContain('ECONNREFUSED');
    expect(got.map((r) => r.json.key)).toEqual([
      expect.stringMatching(new RegExp(`^${n}:\\d+:0$`)),
      expect.stringMatching(new RegExp(`^${n}:\\d+:1$`)),
    ]);
    expect(got.map((r) => r.json.seq)).toEqual([1, 1]);
    // The error action's own delivery has a key of its own, derived from the failed one.
    expect(got[0]!.key).toBe(`${got[0]!.json.key}:error:3`);
    expect(ok.accepted().map((r) => r.json)).toEqual([{ seq: 1, dn: dev.deviceName }]);

    const dls = await deadLetters(t, id);
    expect(dls.map((d) => d.actionIndex)).toEqual([0, 1]);
    expect(dls[0]!.attempts).toBe(1); // not retried: the target's ACL will not change by waiting
    // The stats are written once the message is fully handled, error actions included.
    const state = await waitFor(() => ruleState(t, id), {
      until: (st) => st.stats.matched >= 1,
      message: 'the rule stats',
      timeout: 15_000,
    });
    expect(state.stats).toEqual({ matched: 1, delivered: 1, failed: 2, deadLettered: 2 });
    expect(errors.requests.length).toBe(2);

    // The default error action body: the failure with the rule, the action and the SELECT output.
    const plain = await hookServer();
    const id2 = await startedRule(
      t,
      'default-error-body',
      `SELECT seq FROM "/${fleet.pk}/${dev.deviceName}/user/update"`,
      [
        { type: 'WEBHOOK', configuration: { url: gone.url() } },
        { type: 'WEBHOOK', configuration: { url: plain.url() }, errorAction: true },
      ],
    );
    await publishSeq(dev, 2, 2);
    const [e] = await waitFor(() => plain.accepted(), {
      until: (a) => a.length >= 1,
      message: 'the error delivery',
      timeout: 15_000,
    });
    expect(e!.json).toMatchObject({
      ruleId: ruleNumber(id2),
      ruleName: 'default-error-body',
      action: 'WEBHOOK',
      actionIndex: 0,
      error: expect.stringContaining('unreachable'),
      deliveryKey: expect.stringMatching(/:0$/),
      topic: `/${fleet.pk}/${dev.deviceName}/user/update`,
      output: { seq: 2 },
    });
    for (const h of [ok, errors, plain]) await h.down();
  });

  it('reports an unreachable AMQP server clearly, without its credentials, and keeps serving', async () => {
    const dev = fleet.devs[4]!;
    const secret = 'n0t-the-Passw0rd';
    const amqpUrl = `amqp://thingql:${secret}@127.0.0.1:1/vhost`;
    const id = await startedRule(
      t,
      'amqp-down',
      `SELECT items.Temperature.value AS t FROM "/${fleet.pk}/${dev.deviceName}/thing/event/property/post"`,
      [{ type: 'AMQP', configuration: { url: amqpUrl, routingKey: 'telemetry' } }],
    );
    // Another rule on the same messages keeps delivering meanwhile.
    const hook = await hookServer();
    const other = await startedRule(
      t,
      'still-forwarding',
      `SELECT items.Temperature.value AS t FROM "/${fleet.pk}/${dev.deviceName}/thing/event/property/post"`,
      [{ type: 'WEBHOOK', configuration: { url: hook.url() } }],
    );

    const c = await connectDevice(t, 'tcp', dev);
    const post = async (temp: number) => {
      const topic = `/sys/${fleet.pk}/${dev.deviceName}/thing/event/property/post`;
      const reply = nextMessage(c, (tp) => tp === `${topic}_reply`);
      await c.publishAsync(
        topic,
        JSON.stringify({ id: String(temp), params: { Temperature: temp }, method: 'thing.event.property.post' }),
        { qos: 1 },
      );
      return JSON.parse((await reply).payload.toString()).code;
    };
    expect(await post(21)).toBe(200);

    const [dl] = await waitFor(() => deadLetters(t, id), {
      until: (d) => d.length >= 1,
      message: 'a dead letter',
      timeout: 15_000,
    });
    expect(dl!.error).toMatch(/^AMQP server amqp:\/\/\*\*\*@127\.0\.0\.1:1\/vhost unreachable: .*ECONNREFUSED/);
    expect(dl!.output).toEqual({ t: 21 });
    const state = await waitFor(() => ruleState(t, id), {
      until: (s) => s.lastError !== null,
      message: 'the rule error',
      timeout: 15_000,
    });
    expect(state.lastError).toBe(dl!.error);
    expect(state.stats).toMatchObject({ matched: 1, delivered: 0, deadLettered: 1 });
    for (const text of [dl!.error, state.lastError!]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain('thingql:');
    }
    // Observability: the per-rule counters are on /metrics too.
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toContain(`thingql_rule_events_total{rule="${ruleNumber(id)}",outcome="deadLettered"} 1`);

    // The platform keeps serving: GraphQL answers, the device keeps posting, other rules keep forwarding.
    const q = await t.gql(`query($pk: String!) { product(productKey: $pk) { productKey deviceCount } }`, {
      pk: fleet.pk,
    });
    expect(q.data.product).toEqual({ productKey: fleet.pk, deviceCount: 5 });
    expect(await post(22)).toBe(200);
    const delivered = await waitFor(() => hook.accepted(), {
      until: (a) => a.length >= 2,
      message: 'the other rule delivering',
      timeout: 15_000,
    });
    expect(delivered.map((r) => r.json)).toEqual([{ t: 21 }, { t: 22 }]);
    expect(
      (
        await waitFor(() => deadLetters(t, id), {
          until: (d) => d.length >= 2,
          message: 'the second dead letter',
          timeout: 15_000,
        })
      ).map((d) => d.output),
    ).toEqual([{ t: 21 }, { t: 22 }]);
    expect((await ruleState(t, other)).stats).toMatchObject({ delivered: 2, failed: 0 });
    await c.endAsync();
    await hook.down();
  });

  const amqpUrl = process.env.TEST_AMQP_URL;

  it.skipIf(!requireService('TEST_AMQP_URL'))(
    'publishes to RabbitMQ with the idempotency key as messageId, and reports what the server refuses without credentials',
    async () => {
      const dev = fleet.devs[1]!;
      const queue = `thingql-test-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
      const conn = await amqp.connect(amqpUrl!);
      try {
        const ch = await conn.createChannel();
        await ch.assertQueue(queue, { durable: false, autoDelete: true });
        const wrong = new URL(amqpUrl!);
        wrong.password = 'wr0ng-Passw0rd';
        const id = await startedRule(
          t,
          'rabbitmq',
          `SELECT seq, deviceName() AS dn FROM "/${fleet.pk}/${dev.deviceName}/user/update"`,
          [
            { type: 'AMQP', configuration: { url: amqpUrl, routingKey: queue } },
            { type: 'AMQP', configuration: { url: amqpUrl, exchange: 'thingql-no-such-exchange', routingKey: queue } },
            { type: 'AMQP', configuration: { url: wrong.toString(), routingKey: queue } },
          ],
        );
        await publishSeq(dev, 7, 7);

        const msg = await waitFor(() => ch.get(queue, { noAck: true }), {
          until: (m) => m !== false,
          message: 'the AMQP message',
          timeout: 15_000,
        });
        if (!msg) throw new Error('unreachable');
        expect(JSON.parse(msg.content.toString())).toEqual({ seq: 7, dn: dev.deviceName });
        expect(msg.properties.messageId).toMatch(new RegExp(`^${ruleNumber(id)}:\\d+:0$`));
        expect(msg.properties.contentType).toBe('application/json');
        expect(msg.properties.headers).toMatchObject({ topic: `/${fleet.pk}/${dev.deviceName}/user/update` });

        const dls = await waitFor(() => deadLetters(t, id), {
          until: (d) => d.length >= 2,
          message: 'two dead letters',
          timeout: 15_000,
        });
        expect(dls.map((d) => d.actionIndex)).toEqual([1, 2]);
        expect(dls[0]!.error).toContain(
          "404 (NOT-FOUND) with message \"NOT_FOUND - no exchange 'thingql-no-such-exchange'",
        );
        expect(dls[1]!.error).toContain('refused the connection');
        expect(dls[1]!.error).toContain('ACCESS_REFUSED');
        for (const d of dls) expect(d.error).not.toContain('wr0ng-Passw0rd');
        expect(
          await waitFor(() => ruleState(t, id), {
            until: (st) => st.stats.matched >= 1,
            message: 'the rule stats',
            timeout: 15_000,
          }),
        ).toMatchObject({ stats: { matched: 1, delivered: 1, failed: 2, deadLettered: 2 } });
      } finally {
        await conn.close();
      }
    },
  );
});
