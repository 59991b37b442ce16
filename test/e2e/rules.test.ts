import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { connectDevice, nextMessage, type DeviceCreds } from '../helpers/devices.ts';
import { hookServer } from '../helpers/hook-server.ts';
import { requireService } from '../helpers/services-env.ts';
import { waitFor } from '../helpers/wait.ts';
import { usePlatform, useProduct } from '../helpers/use-platform.ts';
import { sensorTsl } from '../helpers/tsl-fixtures.ts';

const CREATE = `mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id status } userErrors { code message field } } }`;

describe('data forwarding: rules and topic routes', () => {
  const t = usePlatform('pglite', { RULE_RETRY_BASE_MS: 50, RULE_RETRY_MAX_MS: 400 });
  const fleet = useProduct(t, 3, { tsl: sensorTsl });
  /** Starts a rule; resolves with its status after the start. */
  const startRule = async (id: string): Promise<string> =>
    (await t.gql(`mutation($i: StartRuleInput!) { startRule(input: $i) { rule { status } } }`, { i: { id } })).data
      .startRule.rule.status;

  async function post(c: Awaited<ReturnType<typeof connectDevice>>, dev: DeviceCreds, temp: number) {
    const topic = `/sys/${fleet.pk}/${dev.deviceName}/thing/event/property/post`;
    const reply = nextMessage(c, (tp) => tp === `${topic}_reply`);
    await c.publishAsync(
      topic,
      JSON.stringify({
        id: String(Math.round(temp * 10)),
        params: { Temperature: temp },
        method: 'thing.event.property.post',
      }),
      { qos: 1 },
    );
    expect(JSON.parse((await reply).payload.toString()).code).toBe(200);
  }

  /**
   * A rule's counters once it has recorded `matched` messages. The runner records a message's counts after its
   * actions have delivered, so a webhook's request or a RabbitMQ message can be seen a moment before them.
   */
  const ruleStats = (id: string, matched: number): Promise<Record<string, number>> =>
    waitFor(
      async () =>
        (await t.gql(`query($id: ID!) { rule(id: $id) { stats { matched delivered failed deadLettered } } }`, { id }))
          .data.rule.stats as Record<string, number>,
      { until: (stats) => (stats.matched ?? 0) >= matched, message: "the rule's counters", timeout: 5_000 },
    );

  it('sends an alert to a webhook and a command to a second device when a temperature exceeds 38', async () => {
    const hook = await hookServer();
    const [sensor, fan] = [fleet.devs[0]!, fleet.devs[1]!];
    const actions: unknown[] = [
      {
        type: 'WEBHOOK',
        configuration: {
          url: hook.url(),
          bodyTemplate: '{"msgtype":"text","text":{"content":"${dn}: temperature ${t} °C"}}',
        },
      },
      { type: 'REPUBLISH', configuration: { topic: `/\${productKey}/${fan.deviceName}/user/get` } },
    ];
    const r = await t.gql(CREATE, {
      i: {
        name: 'overheat',
        sql: `SELECT items.Temperature.value AS t, deviceName() AS dn FROM "/${fleet.pk}/+/thing/event/property/post" WHERE items.Temperature.value > 38`,
        actions,
      },
    });
    expect(r.data.createRule.userErrors).toEqual([]);
    expect(r.data.createRule.rule.status).toBe('STOPPED');
    const id = r.data.createRule.rule.id;
    expect(await startRule(id)).toBe('RUNNING');

    const fanClient = await connectDevice(t, 'tcp', fan);
    await fanClient.subscribeAsync(`/${fleet.pk}/${fan.deviceName}/user/get`);
    const command = nextMessage(fanClient, (tp) => tp === `/${fleet.pk}/${fan.deviceName}/user/get`, 10_000);
    const c = await connectDevice(t, 'tcp', sensor);
    await post(c, sensor, 25.5);
    await post(c, sensor, 39.5);
    expect(JSON.parse((await command).payload.toString())).toEqual({ t: 39.5, dn: sensor.deviceName });
    await waitFor(() => hook.accepted(), {
      until: (a) => a.length >= 1,
      message: 'the webhook delivery',
      timeout: 5_000,
    });
    expect(hook.accepted().map((h) => h.json)).toEqual([
      { msgtype: 'text', text: { content: `${sensor.deviceName}: temperature 39.5 °C` } },
    ]);
    expect(hook.accepted()[0]!.headers['idempotency-key']).toMatch(/^\d+:\d+:0$/);
    expect(await ruleStats(id, 1)).toEqual({ matched: 1, delivered: actions.length, failed: 0, deadLettered: 0 });
    await c.endAsync();
    await fanClient.endAsync();
    await t.gql(`mutation($i: StopRuleInput!) { stopRule(input: $i) { rule { status } } }`, { i: { id } });
    await hook.down();
  });

  // The RabbitMQ action of the same scenario: reported skipped without TEST_AMQP_URL (a failure under CI=true).
  it.skipIf(!requireService('TEST_AMQP_URL'))('sends a summary to RabbitMQ when a temperature exceeds 38', async () => {
    const amqpUrl = process.env.TEST_AMQP_URL!;
    const queue = `thingql-test-${Date.now()}`;
    const sensor = fleet.devs[1]!;
    const conn = await amqp.connect(amqpUrl);
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue(queue, { autoDelete: true });
      const r = await t.gql(CREATE, {
        i: {
          name: 'overheat-amqp',
          sql: `SELECT items.Temperature.value AS t, deviceName() AS dn FROM "/${fleet.pk}/${sensor.deviceName}/thing/event/property/post" WHERE items.Temperature.value > 38`,
          actions: [{ type: 'AMQP', configuration: { url: amqpUrl, routingKey: queue } }],
        },
      });
      expect(r.data.createRule.userErrors).toEqual([]);
      const id = r.data.createRule.rule.id;
      expect(await startRule(id)).toBe('RUNNING');
      const c = await connectDevice(t, 'tcp', sensor);
      await post(c, sensor, 39.5);
      const msg = await waitFor(() => ch.get(queue, { noAck: true }), {
        message: 'the RabbitMQ summary',
        timeout: 5_000,
        interval: 100,
      });
      expect(msg && JSON.parse(msg.content.toString())).toEqual({ t: 39.5, dn: sensor.deviceName });
      expect(await ruleStats(id, 1)).toEqual({ matched: 1, delivered: 1, failed: 0, deadLettered: 0 });
      await c.endAsync();
      await t.gql(`mutation($i: DeleteRuleInput!) { deleteRule(input: $i) { userErrors { code } } }`, { i: { id } });
    } finally {
      await conn.close();
    }
  });

  it('dead-letters deliveries to a webhook that stays down, and re-drives them once it is back', async () => {
    const hook = await hookServer();
    hook.setResponder(() => 503);
    const dev = fleet.devs[2]!;
    const r = await t.gql(CREATE, {
      i: {
        name: 'down',
        sql: `SELECT items.Temperature.value AS t FROM "/${fleet.pk}/${dev.deviceName}/thing/event/property/post"`,
        actions: [{ type: 'WEBHOOK', configuration: { url: hook.url() } }],
      },
    });
    const id = r.data.createRule.rule.id;
    await startRule(id);
    const c = await connectDevice(t, 'tcp', dev);
    await post(c, dev, 20);
    await post(c, dev, 21);
    const dl = await waitFor(
      () =>
        t.gql(
          `query($id: ID!) { deadLetters(ruleId: $id) { edges { node { id error attempts output redrivenAt } } } }`,
          { id },
        ),
      {
        until: (r) => r.data.deadLetters.edges.length >= 2,
        message: 'two dead letters',
        timeout: 6_000,
      },
    );
    expect(dl.data.deadLetters.edges.map((e: any) => e.node.output)).toEqual([{ t: 20 }, { t: 21 }]);
    expect(dl.data.deadLetters.edges[0].node.error).toContain('HTTP 503');
    expect(dl.data.deadLetters.edges[0].node.attempts).toBeGreaterThan(1);
    hook.setResponder(() => 200);
    const rd = await t.gql(
      `mutation($i: RedriveDeadLettersInput!) { redriveDeadLetters(input: $i) { redriven failed userErrors { code } } }`,
      { i: { ruleId: id } },
    );
    expect(rd.data.redriveDeadLetters).toEqual({ redriven: 2, failed: 0, userErrors: [] });
    // Re-delivery runs in the background.
    await waitFor(() => hook.accepted(), {
      until: (a) => a.length >= 2,
      message: 'the re-driven deliveries',
      timeout: 5_000,
    });
    expect(hook.accepted().map((h) => h.json)).toEqual([{ t: 20 }, { t: 21 }]);
    const stats = await t.gql(
      `query($id: ID!) { rule(id: $id) { stats { matched delivered failed deadLettered } lastError } }`,
      { id },
    );
    expect(stats.data.rule.stats).toMatchObject({ matched: 2, failed: 2, deadLettered: 2 });
    expect(stats.data.rule.lastError).toContain('503');
    await c.endAsync();
    await t.gql(`mutation($i: DeleteRuleInput!) { deleteRule(input: $i) { userErrors { code } } }`, { i: { id } });
    await hook.down();
  });

  it('rejects invalid SQL with its position, unknown functions and republish targets a device may not receive', async () => {
    const cases: [string, unknown[], string, string][] = [
      [`SELECT a FROM "/${fleet.pk}/+/thing/event/property/post" WHERE`, [], 'INVALID_SQL', 'syntax error'],
      [`SELECT nosuch(a) FROM "/${fleet.pk}/+/user/#"`, [], 'INVALID_SQL', 'unknown function nosuch()'],
      [
        `SELECT a FROM "/${fleet.pk}/+/user/#"`,
        [{ type: 'REPUBLISH', configuration: { topic: '/sys/x/y/thing/event/property/post' } }],
        'INVALID_ACTION',
        'republish',
      ],
      [
        `SELECT a FROM "/${fleet.pk}/+/user/#"`,
        [{ type: 'AMQP', configuration: { url: 'http://x' } }],
        'INVALID_ACTION',
        'amqp',
      ],
    ];
    for (const [sql, actions, code, text] of cases) {
      const r = await t.gql(CREATE, { i: { name: 'bad', sql, actions } });
      expect(r.data.createRule.rule).toBeNull();
      expect(r.data.createRule.userErrors[0].code).toBe(code);
      expect(r.data.createRule.userErrors[0].message.toLowerCase()).toContain(text.toLowerCase());
    }
    const bad = await t.gql(CREATE, {
      i: { name: 'bad', sql: `SELECT nosuch(a) FROM "/${fleet.pk}/+/user/#"`, actions: [] },
    });
    expect(bad.data.createRule.userErrors[0].message).toContain('column 8');
    const test = await t.gql(
      `query($sql: String!, $topic: String!, $payload: JSON!) { testRule(sql: $sql, topic: $topic, payload: $payload) { matched output userErrors { code } } }`,
      {
        sql: `SELECT upper(deviceName()) AS dn, payload.v * 2 AS v2 FROM "/${fleet.pk}/+/user/update" WHERE payload.v > 1`,
        topic: `/${fleet.pk}/dev-0000/user/update`,
        payload: { payload: { v: 3 } },
      },
    );
    expect(test.data.testRule).toEqual({ matched: true, output: { dn: 'DEV-0000', v2: 6 }, userErrors: [] });
  });

  it('routes a device topic to another device with a topic route (M2M)', async () => {
    const [a, b] = [fleet.devs[0]!, fleet.devs[1]!];
    await t.gql(`mutation($i: CreateProductTopicInput!) { createProductTopic(input: $i) { userErrors { code } } }`, {
      i: { productKey: fleet.pk, topicShortName: 'cmd', operation: 'SUB' },
    });
    const bad = await t.gql(
      `mutation($i: CreateTopicRouteInput!) { createTopicRoute(input: $i) { route { srcTopic } userErrors { code field } } }`,
      {
        i: {
          srcTopic: `/${fleet.pk}/${a.deviceName}/user/update`,
          dstTopics: [`/${fleet.pk}/${b.deviceName}/user/update`],
        },
      },
    );
    expect(bad.data.createTopicRoute.userErrors[0].code).toBe('TOPIC_NOT_ALLOWED');
    const ok = await t.gql(
      `mutation($i: CreateTopicRouteInput!) { createTopicRoute(input: $i) { route { srcTopic dstTopics } userErrors { code } } }`,
      {
        i: {
          srcTopic: `/${fleet.pk}/${a.deviceName}/user/update`,
          dstTopics: [`/${fleet.pk}/${b.deviceName}/user/cmd`],
        },
      },
    );
    expect(ok.data.createTopicRoute.route.dstTopics).toEqual([`/${fleet.pk}/${b.deviceName}/user/cmd`]);
    const cb = await connectDevice(t, 'tcp', b);
    await cb.subscribeAsync(`/${fleet.pk}/${b.deviceName}/user/cmd`);
    const got = nextMessage(cb, (tp) => tp === `/${fleet.pk}/${b.deviceName}/user/cmd`, 10_000);
    const ca = await connectDevice(t, 'tcp', a);
    await ca.publishAsync(`/${fleet.pk}/${a.deviceName}/user/update`, Buffer.from([7, 8, 9]), { qos: 1 });
    expect((await got).payload.equals(Buffer.from([7, 8, 9]))).toBe(true);
    await ca.endAsync();
    await cb.endAsync();
  });

  it("reads the device's tags with attribute() in SELECT and WHERE", async () => {
    const hook = await hookServer();
    const dev = fleet.devs[2]!;
    const c = await connectDevice(t, 'tcp', dev);
    const tagTopic = `/sys/${fleet.pk}/${dev.deviceName}/thing/deviceinfo/update`;
    const tagged = nextMessage(c, (tp) => tp === `${tagTopic}_reply`);
    await c.publishAsync(
      tagTopic,
      JSON.stringify({
        id: '1',
        params: [{ attrKey: 'room', attrValue: 'kitchen' }],
        method: 'thing.deviceinfo.update',
      }),
      { qos: 1 },
    );
    expect(JSON.parse((await tagged).payload.toString()).code).toBe(200);
    const r = await t.gql(CREATE, {
      i: {
        name: 'by room',
        sql: `SELECT attribute('room') AS room, items.Temperature.value AS t FROM "/${fleet.pk}/${dev.deviceName}/thing/event/property/post" WHERE attribute('room') = 'kitchen'`,
        actions: [{ type: 'WEBHOOK', configuration: { url: hook.url() } }],
      },
    });
    const id = r.data.createRule.rule.id;
    await startRule(id);
    await post(c, dev, 30.5);
    await waitFor(() => hook.accepted(), {
      until: (a) => a.length >= 1,
      message: 'the webhook delivery',
      timeout: 5_000,
    });
    expect(hook.accepted().map((h) => h.json)).toEqual([{ room: 'kitchen', t: 30.5 }]);
    await t.gql(`mutation($i: DeleteRuleInput!) { deleteRule(input: $i) { userErrors { code } } }`, { i: { id } });
    await c.endAsync();
    await hook.down();
  });
});
