import { parseTopic } from '../../domain/alink/topics.ts';
import { DomainErrors, type UserErrorShape } from '../../domain/errors.ts';
import { sourceOfTopic } from '../../domain/rules/forwarding.ts';
import { compileRuleSql } from '../../domain/rules/sql.ts';
import { canSeeProduct, type Principal } from '../access.ts';
import { fill, type RuleAction } from './actions.ts';

/** Statements seen before: listing rules for a scoped key must not parse every statement on every request. */
const sourceCache = new Map<string, string | null>();

/** The product a rule reads: the product key its FROM filter names, or null for a filter over every product. */
export function sourceProduct(sql: string): string | null {
  const known = sourceCache.get(sql);
  if (known !== undefined) return known;
  const c = compileRuleSql(sql);
  let pk: string | null = null;
  if (c.ok) {
    const { productKey } = sourceOfTopic(c.value.topicFilter);
    pk = productKey && productKey !== '+' && productKey !== '#' ? productKey : null;
  }
  if (sourceCache.size >= 5000) sourceCache.delete(sourceCache.keys().next().value!);
  sourceCache.set(sql, pk);
  return pk;
}

/** Products a rule's REPUBLISH actions write to (placeholders take the source product). */
function targetProducts(sql: string, actions: readonly RuleAction[]): { index: number; productKey: string }[] {
  const source = sourceProduct(sql);
  const out: { index: number; productKey: string }[] = [];
  actions.forEach((a, index) => {
    if (a.type !== 'REPUBLISH' || typeof a.configuration.topic !== 'string') return;
    const t = parseTopic(fill(a.configuration.topic, { productKey: source ?? '+', deviceName: 'dn' }, {}));
    if (t.kind === 'custom' || t.kind === 'sys') out.push({ index, productKey: t.productKey });
  });
  return out;
}

/**
 * A key limited to products sees only the rules over its products and may only make such rules (graphql-api.md: it
 * "sees nothing of other products"): the FROM filter must name one of its products and REPUBLISH targets must be in
 * them. Unscoped callers (the admin token, unlimited keys) see every rule.
 */
export function ruleVisible(p: Principal, r: { sql: string; actions: readonly RuleAction[] }): boolean {
  if (p.productKeys === null) return true;
  const pk = sourceProduct(r.sql);
  return (
    pk !== null && canSeeProduct(p, pk) && targetProducts(r.sql, r.actions).every((t) => canSeeProduct(p, t.productKey))
  );
}

/** Refuse (userErrors) a rule a scoped key may not make. */
export function checkScope(p: Principal, r: { sql: string; actions: readonly RuleAction[] }): void {
  if (p.productKeys === null) return;
  const errors: UserErrorShape[] = [];
  const pk = sourceProduct(r.sql);
  if (pk === null) {
    errors.push({
      code: 'TOPIC_NOT_ALLOWED',
      message: 'a key limited to products must name one of its products in FROM (no + for the product key)',
      field: ['input', 'sql'],
    });
  } else if (!canSeeProduct(p, pk)) {
    errors.push({ code: 'PRODUCT_NOT_FOUND', message: `product ${pk} does not exist`, field: ['input', 'sql'] });
  }
  for (const t of targetProducts(r.sql, r.actions)) {
    if (!canSeeProduct(p, t.productKey))
      errors.push({
        code: 'PRODUCT_NOT_FOUND',
        message: `product ${t.productKey} does not exist`,
        field: ['input', 'actions', String(t.index), 'configuration'],
      });
  }
  if (errors.length > 0) throw new DomainErrors(errors);
}
