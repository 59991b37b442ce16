/** Rules: creation checks (SQL, actions, scope) and testRule evaluation, through the rule service without a broker. */
import { expect } from 'vitest';
import { failure } from '../helpers/expect-errors.ts';
import { describeEachDb, test } from '../helpers/fixtures.ts';
import { ADMIN, apiKeyPrincipal } from '../helpers/services.ts';

describeEachDb(
  test,
  'rules on %s',
  () => {
    test('creates a rule STOPPED, starts and stops it, and lists it', async ({ services: { services }, product }) => {
      const rule = await services.rules.create(ADMIN, {
        name: 'overheat',
        sql: `SELECT items.Brightness.value AS b FROM "/${product.productKey}/+/thing/event/property/post" WHERE items.Brightness.value > 90`,
        actions: [{ type: 'WEBHOOK', configuration: { url: 'http://127.0.0.1:9/hook' }, errorAction: false }],
      });
      expect(rule).toMatchObject({
        name: 'overheat',
        status: 'STOPPED',
        stats: { matched: 0, delivered: 0, failed: 0, deadLettered: 0 },
        scope: null,
      });
      expect((await services.rules.start(ADMIN, rule.id)).status).toBe('RUNNING');
      expect((await services.rules.stop(ADMIN, rule.id)).status).toBe('STOPPED');
      expect((await services.rules.list(ADMIN)).map((r) => r.id)).toContain(rule.id);
    });

    test('refuses invalid SQL with its position, unknown functions and actions a device may not receive', async ({
      services: { services },
      product,
    }) => {
      const pk = product.productKey;
      const create = (sql: string, actions: unknown[] = []) =>
        failure(() => services.rules.create(ADMIN, { name: 'bad', sql, actions: actions as never }));
      expect((await create(`SELECT a FROM "/${pk}/+/thing/event/property/post" WHERE`)).codes).toEqual(['INVALID_SQL']);
      const unknown = await create(`SELECT nosuch(a) FROM "/${pk}/+/user/#"`);
      expect(unknown.codes).toEqual(['INVALID_SQL']);
      expect(unknown.error.message).toContain('column 8');
      const republish = await create(`SELECT a FROM "/${pk}/+/user/#"`, [
        { type: 'REPUBLISH', configuration: { topic: '/sys/x/y/thing/event/property/post' } },
      ]);
      expect(new Set(republish.codes)).toEqual(new Set(['INVALID_ACTION']));
      const amqp = await create(`SELECT a FROM "/${pk}/+/user/#"`, [
        { type: 'AMQP', configuration: { url: 'http://x' } },
      ]);
      expect(new Set(amqp.codes)).toEqual(new Set(['INVALID_ACTION']));
      expect(
        (
          await failure(() =>
            services.rules.create(apiKeyPrincipal('VIEWER'), {
              name: 'viewer',
              sql: `SELECT a FROM "/${pk}/+/user/#"`,
              actions: [],
            }),
          )
        ).error.name,
      ).toBe('ForbiddenError');
    });

    test('evaluates a rule against a sample message without storing anything', async ({
      services: { services },
      product,
    }) => {
      const pk = product.productKey;
      const sql = `SELECT upper(deviceName()) AS dn, payload.v * 2 AS v2 FROM "/${pk}/+/user/update" WHERE payload.v > 1`;
      const before = (await services.rules.list(ADMIN)).length;
      expect(
        services.rules.test(ADMIN, { sql, topic: `/${pk}/dev-0000/user/update`, payload: { payload: { v: 3 } } }),
      ).toEqual({ matched: true, output: { dn: 'DEV-0000', v2: 6 }, userErrors: [] });
      expect(
        services.rules.test(ADMIN, { sql, topic: `/${pk}/dev-0000/user/update`, payload: { payload: { v: 1 } } }),
      ).toEqual({ matched: false, output: null, userErrors: [] });
      expect(
        services.rules.test(ADMIN, { sql, topic: `/${pk}/dev-0000/user/other`, payload: { payload: { v: 3 } } }),
      ).toEqual({ matched: false, output: null, userErrors: [] });
      expect(
        services.rules
          .test(ADMIN, { sql: 'SELECT', topic: `/${pk}/d/user/update`, payload: {} })
          .userErrors.map((e) => e.code),
      ).toEqual(['INVALID_SQL']);
      expect((await services.rules.list(ADMIN)).length).toBe(before);
    });
  },
  { warm: ['services'], timeout: 60_000 },
);
