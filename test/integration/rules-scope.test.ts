import { beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/use-platform.ts';

/**
 * graphql-api.md: a key limited to a list of product keys "sees nothing of other products". Rules read and write
 * device data, so a scoped key sees and makes only rules over its own products (FROM and REPUBLISH targets).
 */
describe('rules and API keys limited to products', () => {
  const t = usePlatform('pglite');
  let mine: string;
  let theirs: string;
  let token: string;
  let theirRule: string;
  const CREATE = `mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } userErrors { code message field } } }`;
  const hook = { type: 'WEBHOOK', configuration: { url: 'http://127.0.0.1:9/hook' } };

  beforeAll(async () => {
    const product = async (name: string) =>
      (
        await t.gql(`mutation($i: CreateProductInput!) { createProduct(input: $i) { product { productKey } } }`, {
          i: { name },
        })
      ).data.createProduct.product.productKey as string;
    mine = await product('Mine');
    theirs = await product('Theirs');
    const k = await t.gql(`mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { token } }`, {
      i: { name: 'scoped', role: 'OPERATOR', productKeys: [mine] },
    });
    token = k.data.createApiKey.token;
    const r = await t.gql(CREATE, {
      i: { name: 'theirs', sql: `SELECT * FROM "/${theirs}/+/user/#"`, actions: [hook] },
    });
    theirRule = r.data.createRule.rule.id;
  });

  it.each([
    [
      'another product in FROM',
      () => `SELECT * FROM "/${theirs}/+/user/#"`,
      () => [hook],
      'PRODUCT_NOT_FOUND',
      ['input', 'sql'],
    ],
    ['every product in FROM', () => 'SELECT * FROM "/+/+/user/#"', () => [hook], 'TOPIC_NOT_ALLOWED', ['input', 'sql']],
    [
      'every status topic in FROM',
      () => 'SELECT * FROM "/as/mqtt/status/#"',
      () => [hook],
      'TOPIC_NOT_ALLOWED',
      ['input', 'sql'],
    ],
    [
      'a republish into another product',
      () => `SELECT * FROM "/${mine}/+/user/#"`,
      () => [{ type: 'REPUBLISH', configuration: { topic: `/${theirs}/dev-1/user/get` } }],
      'PRODUCT_NOT_FOUND',
      ['input', 'actions', '0', 'configuration'],
    ],
  ])('refuses a scoped key a rule with %s', async (_what, sql, actions, code, field) => {
    const r = await t.gql(CREATE, { i: { name: 'x', sql: sql(), actions: actions() } }, token);
    expect(r.data.createRule.rule).toBeNull();
    expect(r.data.createRule.userErrors).toEqual([expect.objectContaining({ code, field })]);
    // The same answer as for a product that does not exist: a scoped key does not learn which product keys are taken.
    if (code === 'PRODUCT_NOT_FOUND')
      expect(r.data.createRule.userErrors[0].message).toBe(`product ${theirs} does not exist`);
  });

  it('lets a scoped key make, see and run rules over its own products only', async () => {
    const r = await t.gql(
      CREATE,
      {
        i: {
          name: 'mine',
          sql: `SELECT * FROM "/${mine}/+/user/#"`,
          actions: [hook, { type: 'REPUBLISH', configuration: { topic: '/${productKey}/${deviceName}/user/get' } }],
        },
      },
      token,
    );
    expect(r.data.createRule.userErrors).toEqual([]);
    const id = r.data.createRule.rule.id;

    const scoped = await t.gql(`{ rules { id name } }`, {}, token);
    expect(scoped.data.rules).toEqual([{ id, name: 'mine' }]);
    const all = await t.gql(`{ rules { name } }`);
    expect(all.data.rules.map((x: { name: string }) => x.name)).toEqual(['theirs', 'mine']);

    const peek = await t.gql(
      `query($id: ID!) { rule(id: $id) { name } deadLetters(ruleId: $id) { edges { node { id } } } }`,
      { id: theirRule },
      token,
    );
    expect(peek.data).toEqual({ rule: null, deadLetters: { edges: [] } });
    for (const m of ['startRule', 'stopRule', 'deleteRule']) {
      const name = m.charAt(0).toUpperCase() + m.slice(1);
      const x = await t.gql(
        `mutation($i: ${name}Input!) { ${m}(input: $i) { rule { id } userErrors { code } } }`,
        { i: { id: theirRule } },
        token,
      );
      expect(x.data[m]).toEqual({ rule: null, userErrors: [{ code: 'RULE_NOT_FOUND' }] });
    }
    const upd = await t.gql(
      `mutation($i: UpdateRuleInput!) { updateRule(input: $i) { rule { id } userErrors { code } } }`,
      { i: { id: theirRule, name: 'mine now' } },
      token,
    );
    expect(upd.data.updateRule.userErrors).toEqual([{ code: 'RULE_NOT_FOUND' }]);
    const rd = await t.gql(
      `mutation($i: RedriveDeadLettersInput!) { redriveDeadLetters(input: $i) { userErrors { code } } }`,
      { i: { ruleId: theirRule } },
      token,
    );
    expect(rd.data.redriveDeadLetters.userErrors).toEqual([{ code: 'RULE_NOT_FOUND' }]);

    // Its own rule cannot be pointed at another product either.
    const move = await t.gql(
      `mutation($i: UpdateRuleInput!) { updateRule(input: $i) { rule { id } userErrors { code field } } }`,
      { i: { id, sql: `SELECT * FROM "/${theirs}/+/user/#"` } },
      token,
    );
    // (its republish to /${productKey}/... would follow the source into that product too)
    expect(move.data.updateRule.userErrors).toEqual([
      { code: 'PRODUCT_NOT_FOUND', field: ['input', 'sql'] },
      { code: 'PRODUCT_NOT_FOUND', field: ['input', 'actions', '1', 'configuration'] },
    ]);
    const started = await t.gql(
      `mutation($i: StartRuleInput!) { startRule(input: $i) { rule { status } userErrors { code } } }`,
      { i: { id } },
      token,
    );
    expect(started.data.startRule).toEqual({ rule: { status: 'RUNNING' }, userErrors: [] });
    const stopped = await t.gql(
      `mutation($i: StopRuleInput!) { stopRule(input: $i) { rule { status } userErrors { code } } }`,
      { i: { id } },
      token,
    );
    expect(stopped.data.stopRule).toEqual({ rule: { status: 'STOPPED' }, userErrors: [] });
  });
});
