import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alibabaConsumer, subscription, type AmqpKey, type Consumer } from '../helpers/amqp.ts';
import { connectDevice, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { lampTsl, postAndReply } from '../helpers/thing-posts.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * AMQP server-side subscription (cloud-api.md §7) against consumers written like Alibaba's Node sample: messages and
 * their properties, consumer groups, redelivery, backlog and refused logins. One platform for the file.
 */
describe('AMQP server-side subscription', () => {
  let t: TestPlatform;
  let port: number;
  let pk: string;
  let devs: DeviceCreds[];
  let device: MqttClient;
  const consumers: Consumer[] = [];
  const consumer = (o: Parameters<typeof alibabaConsumer>[0]) => {
    const c = alibabaConsumer(o);
    consumers.push(c);
    return c;
  };
  /** Custom-topic publishes (DEVICE_DATA); resolves once each is acknowledged, i.e. committed. */
  const publish = async (n: number, tag: string) => {
    for (let i = 0; i < n; i++)
      await device.publishAsync(`/${pk}/${devs[0]!.deviceName}/user/update`, JSON.stringify({ tag, i }), { qos: 1 });
  };
  const contents = (c: Consumer) => c.received.map((r) => JSON.parse(r.content) as { tag: string; i: number });

  const certDir = mkdtempSync(path.join(tmpdir(), 'thingql-amqps-'));
  beforeAll(async () => {
    // A self-signed certificate for AMQPS (the reference's only transport).
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        path.join(certDir, 'key.pem'),
        '-out',
        path.join(certDir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    t = await startTestPlatform(
      'pglite',
      {
        AMQP_PORT: 0,
        AMQPS_PORT: 0,
        AMQP_TLS_CERT: path.join(certDir, 'cert.pem'),
        AMQP_TLS_KEY: path.join(certDir, 'key.pem'),
        AMQP_ACK_TIMEOUT_MS: 1500,
      },
      { amqpAttachTimeoutMs: 1000 },
    );
    port = t.platform.amqpPort!;
    ({ productKey: pk, devices: devs } = await productWithDevices(t, 2, { tsl: lampTsl }));
    device = await connectDevice(t, 'tcp', devs[0]!);
  });
  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.close().catch(() => undefined)));
    await device?.endAsync();
    await t?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  it('delivers property posts and status changes with the documented properties and bodies', async () => {
    const { key, groupId } = await subscription(t, pk, ['DEVICE_DATA', 'DEVICE_STATUS']);
    const c = consumer({ port, key, consumerGroupId: groupId });
    await waitFor(() => clientsOf(groupId).then((l) => l.length === 1), { timeout: 15_000, interval: 50 });
    const other = await connectDevice(t, 'tcp', devs[1]!);
    await postAndReply(other, `/sys/${pk}/${devs[1]!.deviceName}/thing/event/property/post`, {
      id: '1',
      version: '1.0',
      params: { Brightness: 42 },
      method: 'thing.event.property.post',
    });
    await other.endAsync();
    const got = await c.waitFor(3);
    const status = got.filter((r) => r.topic === `/as/mqtt/status/${pk}/${devs[1]!.deviceName}`);
    const post = got.find((r) => r.topic === `/${pk}/${devs[1]!.deviceName}/thing/event/property/post`)!;
    expect(status.map((s) => JSON.parse(s.content).status)).toEqual(['online', 'offline']);
    expect(post).toBeDefined();
    expect(JSON.parse(post.content)).toMatchObject({
      deviceName: devs[1]!.deviceName,
      productKey: pk,
      items: { Brightness: { value: 42 } },
    });
    for (const r of got) {
      // §7.3: message_id and the messageId property are the event position; generateTime a long in ms; bytes in a data section.
      expect(r.messageId).toMatch(/^\d+$/);
      expect(r.message.application_properties!.messageId).toBe(r.messageId);
      expect(typeof r.generateTime).toBe('number');
      expect(Math.abs(Date.now() - Number(r.generateTime))).toBeLessThan(60_000);
      expect(r.message.content_type).toBeUndefined();
      expect(Buffer.isBuffer((r.message.body as { content: Buffer }).content)).toBe(true);
    }
    const cursors = got.map((r) => Number(r.messageId));
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
  });

  it('shares a group between two clients, with no message to both, and gives every group everything', async () => {
    const { key, groupId } = await subscription(t, pk, ['DEVICE_DATA']);
    const g2 = await t.gql(`mutation { createConsumerGroup(input: { name: "second" }) { consumerGroup { groupId } } }`);
    const second = g2.data.createConsumerGroup.consumerGroup.groupId as string;
    await t.gql(
      `mutation($i: UpdateSubscribeRelationInput!) { updateSubscribeRelation(input: $i) { userErrors { code } } }`,
      {
        i: { productKey: pk, consumerGroupIds: [groupId, second], messageTypes: ['DEVICE_DATA'] },
      },
    );
    const a = consumer({ port, key, consumerGroupId: groupId, clientId: 'a' });
    const b = consumer({ port, key, consumerGroupId: groupId, clientId: 'b' });
    const s = consumer({ port, key, consumerGroupId: second });
    await waitFor(
      () => Promise.all([clientsOf(groupId), clientsOf(second)]).then(([x, y]) => x.length === 2 && y.length === 1),
      { timeout: 15_000, interval: 50 },
    );
    await publish(40, 'share');
    await s.waitFor(40);
    await waitFor(async () => a.received.length + b.received.length >= 40, { timeout: 15_000, interval: 50 });
    const ids = [...a.received, ...b.received].map((r) => r.messageId);
    expect(new Set(ids).size).toBe(40);
    expect(ids.length).toBe(40);
    expect(a.received.length).toBeGreaterThan(0);
    expect(b.received.length).toBeGreaterThan(0);
    expect(contents(s).map((x) => x.i)).toEqual([...Array(40).keys()]);
    expect(new Set(s.received.map((r) => r.messageId))).toEqual(new Set(ids));
  });

  it('delivers a released and an unanswered message again with the same messageId', async () => {
    const { key, groupId } = await subscription(t, pk, ['DEVICE_DATA']);
    let seen = 0;
    const c = consumer({
      port,
      key,
      consumerGroupId: groupId,
      // First copy of message 0 released, first copy of message 1 never answered, everything else accepted.
      settle: (r) => {
        seen++;
        const { i } = JSON.parse(r.content) as { i: number };
        if (r.message.delivery_count) return 'accept';
        return i === 0 ? 'release' : i === 1 ? 'none' : 'accept';
      },
    });
    await waitFor(() => clientsOf(groupId).then((l) => l.length === 1), { timeout: 15_000, interval: 50 });
    await publish(3, 'again');
    const got = await c.waitFor(5);
    const byI = (i: number) => got.filter((r) => JSON.parse(r.content).i === i);
    for (const i of [0, 1]) {
      const copies = byI(i);
      expect(copies).toHaveLength(2);
      expect(copies[1]!.messageId).toBe(copies[0]!.messageId);
      expect(copies[1]!.topic).toBe(copies[0]!.topic);
      expect(copies[1]!.message.delivery_count).toBe(1);
      expect(copies[1]!.message.first_acquirer).toBe(false);
    }
    expect(byI(2)).toHaveLength(1);
    expect(seen).toBe(5);
    await waitFor(() => backlogOf(groupId).then((n) => n === 0), { timeout: 15_000, interval: 50 });
  });

  it('keeps a backlog while no client listens and delivers it in order on connect', async () => {
    const { key, groupId } = await subscription(t, pk, ['DEVICE_DATA']);
    await publish(25, 'backlog');
    expect(await backlogOf(groupId)).toBe(25);
    const c = consumer({ port, key, consumerGroupId: groupId, creditWindow: 5 });
    const got = await c.waitFor(25);
    expect(got.map((r) => JSON.parse(r.content).i)).toEqual([...Array(25).keys()]);
    await waitFor(() => backlogOf(groupId).then((n) => n === 0), { timeout: 15_000, interval: 50 });
  });

  it('respects link credit: nothing beyond what the client granted', async () => {
    const { key, groupId } = await subscription(t, pk, ['DEVICE_DATA']);
    const c = consumer({ port, key, consumerGroupId: groupId, creditWindow: 0 });
    await waitFor(() => clientsOf(groupId).then((l) => l.length === 1), { timeout: 15_000, interval: 50 });
    c.receiver!.add_credit(3);
    await publish(5, 'credit');
    await c.waitFor(3);
    // The three are accepted; two wait in the backlog until the client grants more.
    await waitFor(() => backlogOf(groupId).then((n) => n === 2), { timeout: 15_000, interval: 50 });
    expect(c.received).toHaveLength(3);
    c.receiver!.add_credit(2);
    const got = await c.waitFor(5);
    expect(got.map((r) => JSON.parse(r.content).i)).toEqual([0, 1, 2, 3, 4]);
  });

  it('hands what a client never settled to another client when it goes away', async () => {
    const { key, groupId } = await subscription(t, pk, ['DEVICE_DATA']);
    const lazy = consumer({ port, key, consumerGroupId: groupId, settle: 'none' });
    await waitFor(() => clientsOf(groupId).then((l) => l.length === 1), { timeout: 15_000, interval: 50 });
    await publish(5, 'lazy');
    const held = await lazy.waitFor(5);
    await lazy.close();
    const next = consumer({ port, key, consumerGroupId: groupId });
    const got = await next.waitFor(5);
    expect(got.map((r) => r.messageId)).toEqual(held.map((r) => r.messageId));
  });

  it('closes a connection that never attaches a link, and refuses a second link', async () => {
    const { key, groupId } = await subscription(t, pk, ['DEVICE_DATA']);
    const idle = consumer({ port, key, consumerGroupId: groupId, attach: false });
    expect(await idle.closed).toBe('amqp:resource-limit-exceeded');
    const c = consumer({ port, key, consumerGroupId: groupId });
    await waitFor(() => clientsOf(groupId).then((l) => l.length === 1), { timeout: 15_000, interval: 50 });
    const extra = c.connection.open_receiver();
    const refused = await new Promise<string>((resolve) =>
      extra.on('receiver_close', () => resolve(String((extra.error as { condition?: string } | undefined)?.condition))),
    );
    expect(refused).toBe('amqp:not-allowed');
    await publish(1, 'still-up');
    expect((await c.waitFor(1))[0]!.content).toContain('still-up');
  });

  it('refuses logins with a bad signature, an unknown or revoked key and an unknown group', async () => {
    const { key, groupId } = await subscription(t, pk, ['DEVICE_DATA']);
    const refused = async (o: { key?: AmqpKey; group?: string; password?: string }) => {
      const c = consumer({
        port,
        key: o.key ?? key,
        consumerGroupId: o.group ?? groupId,
        ...(o.password ? { password: o.password } : {}),
      });
      await c.closed;
      return c.connection.is_open() || c.received.length > 0;
    };
    expect(await refused({ password: 'bm90IHRoZSBzaWduYXR1cmU=' })).toBe(false);
    expect(await refused({ key: { accessKeyId: 'TQLnoSuchKey0000000000000', accessKeySecret: 'x' } })).toBe(false);
    expect(await refused({ group: 'NoSuchGroup' })).toBe(false);
    // A live connection of a key that is then revoked is closed; the key cannot log in again.
    const live = consumer({ port, key, consumerGroupId: groupId });
    await waitFor(() => clientsOf(groupId).then((l) => l.length === 1), { timeout: 15_000, interval: 50 });
    const r = await t.gql(
      `mutation($id: String!) { revokeAccessKey(input: { accessKeyId: $id }) { userErrors { code } } }`,
      { id: key.accessKeyId },
    );
    expect(r.data.revokeAccessKey.userErrors).toEqual([]);
    expect(await live.closed).toBe('amqp:unauthorized-access');
    expect(await refused({})).toBe(false);
  });

  it('serves a consumer configured like the sample over TLS (AMQPS_PORT)', async () => {
    const { key, groupId } = await subscription(t, pk, ['DEVICE_DATA']);
    const c = consumer({ port: t.platform.amqpsPort!, transport: 'tls', key, consumerGroupId: groupId });
    await waitFor(() => clientsOf(groupId).then((l) => l.length === 1), { timeout: 15_000, interval: 50 });
    await publish(2, 'tls');
    expect((await c.waitFor(2)).map((r) => JSON.parse(r.content).i)).toEqual([0, 1]);
  });

  it('offers a client only the products its AccessKey may see; the others wait for a client that may', async () => {
    const other = await productWithDevices(t, 1);
    const { key, groupId } = await subscription(t, pk, ['DEVICE_DATA']);
    await t.gql(
      `mutation($i: CreateSubscribeRelationInput!) { createSubscribeRelation(input: $i) { userErrors { code } } }`,
      {
        i: { productKey: other.productKey, consumerGroupIds: [groupId], messageTypes: ['DEVICE_DATA'] },
      },
    );
    const k = await t.gql(
      `mutation($pk: String!) { createAccessKey(input: { name: "scoped", role: VIEWER, productKeys: [$pk] }) { accessKey { accessKeyId } accessKeySecret } }`,
      { pk },
    );
    const scopedKey = {
      accessKeyId: k.data.createAccessKey.accessKey.accessKeyId,
      accessKeySecret: k.data.createAccessKey.accessKeySecret,
    };
    const scoped = consumer({ port, key: scopedKey, consumerGroupId: groupId });
    await waitFor(() => clientsOf(groupId).then((l) => l.length === 1), { timeout: 15_000, interval: 50 });
    const od = await connectDevice(t, 'tcp', other.devices[0]!);
    await od.publishAsync(`/${other.productKey}/${other.devices[0]!.deviceName}/user/update`, 'other product', {
      qos: 1,
    });
    await od.endAsync();
    await publish(1, 'scoped');
    await scoped.waitFor(1);
    const wide = consumer({ port, key, consumerGroupId: groupId });
    const [fromOther] = await wide.waitFor(1);
    expect(fromOther!.topic).toBe(`/${other.productKey}/${other.devices[0]!.deviceName}/user/update`);
    expect(fromOther!.content).toBe('other product');
    expect(scoped.received.map((r) => r.topic)).toEqual([`/${pk}/${devs[0]!.deviceName}/user/update`]);
  });

  it('manages groups and relations in GraphQL with the contract names and userErrors, and disconnects a deleted group', async () => {
    const { key, groupId } = await subscription(t, pk, ['DEVICE_STATUS']);
    const rel = await t.gql(
      `query($pk: String) { subscribeRelations(productKey: $pk) { productKey consumerGroupIds messageTypes } }`,
      { pk },
    );
    expect(rel.data.subscribeRelations).toEqual([
      { productKey: pk, consumerGroupIds: [groupId], messageTypes: ['DEVICE_STATUS'] },
    ]);
    const errors = async (m: string, input: Record<string, unknown>) => {
      const r = await t.gql(
        `mutation($i: ${m[0]!.toUpperCase()}${m.slice(1)}Input!) { ${m}(input: $i) { userErrors { code } } }`,
        { i: input },
      );
      return r.data[m].userErrors.map((e: { code: string }) => e.code);
    };
    const relation = { productKey: pk, consumerGroupIds: [groupId], messageTypes: ['DEVICE_DATA'] };
    expect(await errors('createSubscribeRelation', relation)).toEqual(['SUBSCRIBE_RELATION_EXISTS']);
    expect(await errors('createSubscribeRelation', { ...relation, productKey: 'NoSuchProduct' })).toEqual([
      'PRODUCT_NOT_FOUND',
    ]);
    expect(await errors('updateSubscribeRelation', { ...relation, consumerGroupIds: ['NoSuchGroup'] })).toEqual([
      'CONSUMER_GROUP_NOT_FOUND',
    ]);
    expect(await errors('updateSubscribeRelation', { ...relation, messageTypes: [] })).toEqual(['INVALID_INPUT']);
    expect(await errors('createConsumerGroup', { name: 'x'.repeat(31) })).toEqual(['INVALID_NAME']);
    expect(await errors('deleteConsumerGroup', { groupId: 'DEFAULT_GROUP' })).toEqual(['DEFAULT_GROUP_UNDELETABLE']);
    expect(await errors('resetConsumerGroupPosition', { groupId: 'NoSuchGroup' })).toEqual([
      'CONSUMER_GROUP_NOT_FOUND',
    ]);
    const groups = await t.gql(`{ consumerGroups { groupId name } }`);
    expect(groups.data.consumerGroups[0]).toEqual({ groupId: 'DEFAULT_GROUP', name: 'DEFAULT_GROUP' });
    const c = consumer({ port, key, consumerGroupId: groupId });
    await waitFor(() => clientsOf(groupId).then((l) => l.length === 1), { timeout: 15_000, interval: 50 });
    expect(await errors('deleteConsumerGroup', { groupId })).toEqual([]);
    expect(await c.closed).toBe('amqp:not-found');
    const after = await t.gql(`query($pk: String) { subscribeRelations(productKey: $pk) { consumerGroupIds } }`, {
      pk,
    });
    expect(after.data.subscribeRelations[0].consumerGroupIds).not.toContain(groupId);
  });

  async function clientsOf(groupId: string): Promise<{ clientId: string; inFlight: number }[]> {
    const r = await t.gql(`query($g: String!) { consumerGroup(groupId: $g) { clients { clientId inFlight } } }`, {
      g: groupId,
    });
    return r.data.consumerGroup.clients;
  }
  async function backlogOf(groupId: string): Promise<number> {
    const r = await t.gql(`query($g: String!) { consumerGroup(groupId: $g) { backlog } }`, { g: groupId });
    return r.data.consumerGroup.backlog;
  }
});
