import { beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createProduct } from '../integration/support.ts';
import { usePlatform } from '../helpers/use-platform.ts';

/**
 * Finding 8: `rules { actions { configuration } }` showed a VIEWER the webhook Authorization headers, URL tokens
 * (`?access_token=`) and AMQP passwords. Below ADMIN they are masked now; ADMIN still reads what it wrote.
 */
describe('rule action secrets', () => {
  const t = usePlatform('pglite');
  let pk: string;
  const secrets = ['S3CR3T-token', 'S3CR3T-bearer', 'S3CR3T-apikey', 'S3CR3T-amqppass', 'S3CR3T-query', 'S3CR3T-user'];
  beforeAll(async () => {
    pk = (await createProduct(t, { name: 'Secret lamp' })).productKey;
    const r = await t.gql(
      `mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } userErrors { code message } } }`,
      {
        i: {
          name: 'with secrets',
          sql: `SELECT * FROM "/${pk}/+/thing/event/property/post"`,
          actions: [
            {
              type: 'WEBHOOK',
              configuration: {
                url: `https://S3CR3T-user:pw@hooks.example.com/robot/send?access_token=S3CR3T-token&kind=text`,
                headers: {
                  Authorization: 'Bearer S3CR3T-bearer',
                  'X-Api-Key': 'S3CR3T-apikey',
                  'Content-Type': 'application/json',
                },
              },
            },
            {
              type: 'AMQP',
              configuration: {
                url: 'amqp://thingql:S3CR3T-amqppass@mq.example.com:5672/iot?token=S3CR3T-query',
                routingKey: 'telemetry',
              },
            },
          ],
        },
      },
    );
    expect(r.data.createRule.userErrors).toEqual([]);
  });

  const read = (token: string) => t.gql(`{ rules { actions { type configuration } } }`, {}, token);

  it.each(['VIEWER', 'OPERATOR'] as const)(
    'masks credentials for a %s key, keeping destinations readable',
    async (role) => {
      const { token } = await createApiKey(t, role);
      const r = await read(token);
      const text = JSON.stringify(r.data.rules);
      for (const s of secrets) expect(text).not.toContain(s);
      const [hook, amqp] = r.data.rules[0].actions.map((a: any) => a.configuration);
      expect(hook.url).toBe('https://***:***@hooks.example.com/robot/send?access_token=***&kind=***');
      expect(hook.headers).toEqual({ Authorization: '***', 'X-Api-Key': '***', 'Content-Type': 'application/json' });
      expect(amqp.url).toBe('amqp://***:***@mq.example.com:5672/iot?token=***');
      expect(amqp.routingKey).toBe('telemetry');
    },
  );

  it('masks a pre-signed firmware URL the same way (the same class of leak)', async () => {
    const url = 'https://cdn.example.com/fw.bin?X-Amz-Signature=S3CR3T-presigned&X-Amz-Expires=600';
    const created = await t.gql(
      `mutation($i: CreateFirmwareInput!) { createFirmware(input: $i) { userErrors { code message } } }`,
      {
        i: { productKey: pk, name: 'External', version: '1.0.1', url, size: 8, md5: '0'.repeat(32) },
      },
    );
    expect(created.data.createFirmware.userErrors).toEqual([]);
    const { token } = await createApiKey(t, 'VIEWER');
    const q = `query($pk: String!) { firmwares(productKey: $pk) { edges { node { url } } } }`;
    const viewer = await t.gql(q, { pk }, token);
    expect(viewer.data.firmwares.edges[0].node.url).toBe(
      'https://cdn.example.com/fw.bin?X-Amz-Signature=***&X-Amz-Expires=***',
    );
    expect((await t.gql(q, { pk })).data.firmwares.edges[0].node.url).toBe(url);
  });

  it('shows ADMIN the configuration as written', async () => {
    const text = JSON.stringify((await read(t.adminToken)).data.rules);
    for (const s of secrets) expect(text).toContain(s);
  });
});
