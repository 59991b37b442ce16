import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryError } from '../../src/services/rules/actions.ts';
import { connectDevice, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { createTopic } from '../e2e/rules-support.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Finding 12: a header value with characters above U+00FF made every webhook call throw, retried as transient for
 * minutes, and custom-topic names outside the reference's limits (alink-protocol.md §2.1/§7: at most 128
 * characters, 7 '/', levels of letters, digits and underscore) were accepted on publish.
 */
describe('odd topics and header values', () => {
  // Retries would run for up to a minute: a delivery stuck in them never reaches the receiver within the test.
  const t = usePlatform('pglite', { RULE_RETRY_BASE_MS: 20, RULE_RETRY_MAX_MS: 60_000 });
  let pk: string;
  let dev: DeviceCreds;
  let server: http.Server;
  let hookUrl: string;
  const received: http.IncomingHttpHeaders[] = [];
  beforeAll(async () => {
    const p = await productWithDevices(t, 1);
    pk = p.productKey;
    dev = p.devices[0]!;
    await createTopic(t, pk, '#', 'ALL');
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received.push(req.headers);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  it('encodes webhook header values above U+00FF instead of failing every delivery', async () => {
    const r = await t.gql(
      `mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } userErrors { code message } } }`,
      {
        i: {
          name: 'unicode header',
          sql: `SELECT seq FROM "/${pk}/+/user/data"`,
          actions: [{ type: 'WEBHOOK', configuration: { url: hookUrl, headers: { 'X-Note': '温度 ok' } } }],
        },
      },
    );
    expect(r.data.createRule.userErrors).toEqual([]);
    await t.gql(`mutation($i: StartRuleInput!) { startRule(input: $i) { rule { id } } }`, {
      i: { id: r.data.createRule.rule.id },
    });
    const c = await connectDevice(t, 'tcp', dev);
    await c.publishAsync(`/${pk}/${dev.deviceName}/user/data`, JSON.stringify({ seq: 1 }), { qos: 1 });
    await c.endAsync();
    const [h] = await waitFor(() => received, {
      until: (x) => x.length >= 1,
      message: 'the delivery',
      timeout: 15_000,
    });
    expect(h!['x-note']).toBe(`${encodeURIComponent('温度')} ok`);
  });

  it('dead-letters at once a configuration that cannot be sent (retrying cannot help)', async () => {
    const deliver = t.platform.services.runtime.actions.deliver({
      action: {
        type: 'WEBHOOK',
        configuration: { url: hookUrl, headers: { 'bad header name': 'x' } },
        errorAction: false,
      },
      output: {},
      message: { topic: `/${pk}/${dev.deviceName}/user/data`, productKey: pk, deviceName: dev.deviceName },
      deliveryKey: 'k',
    });
    const e = await deliver.then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(DeliveryError);
    expect((e as DeliveryError).retryable).toBe(false);
  });

  it.each([
    ['a level outside letters, digits and underscore', (dn: string) => `/${pk}/${dn}/user/温度`],
    ['more than 7 separators', (dn: string) => `/${pk}/${dn}/user/a/b/c/d/e`],
    ['more than 128 characters', (dn: string) => `/${pk}/${dn}/user/${'x'.repeat(120)}`],
  ])('refuses a device publish to a custom topic with %s', async (_what, topicOf) => {
    const c = await connectDevice(t, 'tcp', dev);
    const closed = new Promise<string>((r) => c.once('close', () => r('disconnected')));
    const acked = c.publishAsync(topicOf(dev.deviceName), 'x', { qos: 1 }).then(
      () => 'accepted',
      () => 'disconnected',
    );
    expect(await Promise.race([closed, acked])).toBe('disconnected');
    await c.endAsync(true);
  });

  it('refuses pub to such a topic with TOPIC_NOT_ALLOWED', async () => {
    const r = await t.gql(`mutation($i: PubInput!) { pub(input: $i) { messageId userErrors { code } } }`, {
      i: { productKey: pk, topicFullName: `/${pk}/${dev.deviceName}/user/温度`, payload: 'x' },
    });
    expect(r.data.pub.userErrors).toEqual([{ code: 'TOPIC_NOT_ALLOWED' }]);
  });
});
