import { beforeAll, describe, expect, it } from 'vitest';
import { createProduct } from '../integration/support.ts';
import { usePlatform } from '../helpers/use-platform.ts';

/** Finding 13 (rules part): the reference limits rules; ThingQL had no limit. RULE_MAX_PER_PRODUCT (2 here). */
describe('rules per product', () => {
  const t = usePlatform('pglite', { RULE_MAX_PER_PRODUCT: 2 });
  let a: string;
  let b: string;
  beforeAll(async () => {
    a = (await createProduct(t, { name: 'Limited A' })).productKey;
    b = (await createProduct(t, { name: 'Limited B' })).productKey;
  });

  const create = async (pk: string, name: string) => {
    const r = await t.gql(
      `mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } userErrors { code message } } }`,
      {
        i: {
          name,
          sql: `SELECT * FROM "/${pk}/+/thing/event/property/post"`,
          actions: [{ type: 'REPUBLISH', configuration: { topic: '/${productKey}/${deviceName}/user/get' } }],
        },
      },
    );
    return r.data.createRule as { rule: { id: string } | null; userErrors: { code: string; message: string }[] };
  };

  it('refuses a rule beyond RULE_MAX_PER_PRODUCT with RULE_LIMIT_EXCEEDED, per product, on create and on update', async () => {
    expect((await create(a, 'a1')).userErrors).toEqual([]);
    expect((await create(a, 'a2')).userErrors).toEqual([]);
    const third = await create(a, 'a3');
    expect(third.rule).toBeNull();
    expect(third.userErrors.map((e) => e.code)).toEqual(['RULE_LIMIT_EXCEEDED']);
    expect(third.userErrors[0]!.message).toContain('RULE_MAX_PER_PRODUCT');
    const other = await create(b, 'b1');
    expect(other.userErrors).toEqual([]);
    // Moving b1 into product A is the same as creating a third rule there.
    const moved = await t.gql(`mutation($i: UpdateRuleInput!) { updateRule(input: $i) { userErrors { code } } }`, {
      i: { id: other.rule!.id, sql: `SELECT * FROM "/${a}/+/thing/event/property/post"` },
    });
    expect(moved.data.updateRule.userErrors).toEqual([{ code: 'RULE_LIMIT_EXCEEDED' }]);
  });
});
