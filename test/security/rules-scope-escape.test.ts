import { beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { createApiKey } from '../integration/support.ts';
import { createTopic, deadLetters } from '../e2e/rules-support.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Finding 11: a product-scoped key could build a REPUBLISH topic from SELECT output that lands in another product
 * (`/${a}${productKey}/x/user/get` passes the save-time check with `a` empty). The final topic is now checked at delivery
 * against the rule's scope (the products of the key that made it) as well as the target's ACL.
 */
describe('rule scope escape through computed republish topics', () => {
  const t = usePlatform('pglite');
  let a: { productKey: string; devices: DeviceCreds[] };
  let b: { productKey: string; devices: DeviceCreds[] };
  beforeAll(async () => {
    a = await productWithDevices(t, 1);
    b = await productWithDevices(t, 1);
    await createTopic(t, b.productKey, '#', 'SUB');
  });

  async function ruleAs(token: string | undefined, name: string) {
    const r = await t.gql(
      `mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } userErrors { code message } } }`,
      {
        i: {
          name,
          sql: `SELECT a FROM "/${a.productKey}/+/user/update"`,
          actions: [{ type: 'REPUBLISH', configuration: { topic: '/${a}${productKey}/x/user/get' } }],
        },
      },
      token,
    );
    expect(r.data.createRule.userErrors).toEqual([]);
    const id = r.data.createRule.rule.id as string;
    await t.gql(`mutation($i: StartRuleInput!) { startRule(input: $i) { rule { id } } }`, { i: { id } }, token);
    return id;
  }

  it('refuses at delivery a topic computed into a product outside the key scope; an unscoped rule may go there', async () => {
    const victim = b.devices[0]!;
    const escapeTo = `${b.productKey}/${victim.deviceName}/user/`; // → /B/b1/user/A/x/user/get
    const receiver = await connectDevice(t, 'tcp', victim);
    const got: string[] = [];
    receiver.on('message', (topic) => got.push(topic));
    await receiver.subscribeAsync(`/${b.productKey}/${victim.deviceName}/user/#`, { qos: 1 });
    const sender = await connectDevice(t, 'tcp', a.devices[0]!);
    try {
      const scoped = await createApiKey(t, 'OPERATOR', [a.productKey]);
      const id = await ruleAs(scoped.token, 'escape');
      await sender.publishAsync(
        `/${a.productKey}/${a.devices[0]!.deviceName}/user/update`,
        JSON.stringify({ a: escapeTo }),
        { qos: 1 },
      );
      const [dl] = await waitFor(() => deadLetters(t, id), {
        until: (d) => d.length >= 1,
        message: 'a dead letter',
        timeout: 15_000,
      });
      expect(dl!.error).toContain('TOPIC_NOT_ALLOWED');
      expect(dl!.attempts).toBe(1);
      expect(got).toEqual([]);
      await t.gql(`mutation($i: DeleteRuleInput!) { deleteRule(input: $i) { userErrors { code } } }`, { i: { id } });

      // The same rule made with the admin token (every product) delivers.
      const adminRule = await ruleAs(undefined, 'admin-wide');
      await sender.publishAsync(
        `/${a.productKey}/${a.devices[0]!.deviceName}/user/update`,
        JSON.stringify({ a: escapeTo }),
        { qos: 1 },
      );
      await waitFor(() => got, { until: (g) => g.length >= 1, message: 'the republished message', timeout: 15_000 });
      expect(got[0]).toBe(`/${b.productKey}/${victim.deviceName}/user/${a.productKey}/x/user/get`);
      await t.gql(`mutation($i: DeleteRuleInput!) { deleteRule(input: $i) { userErrors { code } } }`, {
        i: { id: adminRule },
      });
    } finally {
      await sender.endAsync();
      await receiver.endAsync();
    }
  });
});
