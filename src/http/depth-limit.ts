import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

/** How deep introspection may go: the standard introspection query (GraphiQL, codegen) nests 13 levels. */
export const MAX_INTROSPECTION_DEPTH = 16;

/** [deepest path of ordinary fields, deepest path that enters `__schema` / `__type`] */
type Depths = [number, number];

/**
 * graphql-api.md limits: a query nested deeper than `max` levels (devices → product → devices → …) is refused with
 * QUERY_TOO_COMPLEX before it runs. Introspection counts too, against its own bound (`maxIntrospection`).
 *
 * Linear in the document: each fragment's depth is computed once and reused at every spread (walking spreads afresh
 * is exponential in nested spreads). A spread cycle counts as depth 0 here (the standard
 * NoFragmentCycles rule refuses it).
 */
export function maxDepthRule(max: number, maxIntrospection = MAX_INTROSPECTION_DEPTH) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of context.getDocument().definitions)
      if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    // Keyed by fragment name and whether the spread sits inside introspection (the same fragment counts differently).
    const memo = new Map<string, Depths>();
    const visiting = new Set<string>();

    const depthOf = (set: SelectionSetNode | undefined, inIntrospection: boolean): Depths => {
      let normal = 0;
      let intro = 0;
      if (!set) return [0, 0];
      for (const s of set.selections) {
        let d: Depths;
        if (s.kind === Kind.FIELD) {
          if (s.name.value === '__typename') continue;
          const entering = inIntrospection || s.name.value.startsWith('__');
          const [n, i] = depthOf(s.selectionSet, entering);
          d = entering ? [0, 1 + Math.max(n, i)] : [1 + n, i > 0 ? 1 + i : 0];
        } else if (s.kind === Kind.INLINE_FRAGMENT) {
          d = depthOf(s.selectionSet, inIntrospection);
        } else {
          const key = `${inIntrospection ? 'i' : 'n'}:${s.name.value}`;
          const f = fragments.get(s.name.value);
          const known = memo.get(key);
          if (known) d = known;
          else if (!f || visiting.has(key)) d = [0, 0];
          else {
            visiting.add(key);
            d = depthOf(f.selectionSet, inIntrospection);
            visiting.delete(key);
            memo.set(key, d);
          }
        }
        normal = Math.max(normal, d[0]);
        intro = Math.max(intro, d[1]);
      }
      return [normal, intro];
    };

    return {
      OperationDefinition(node) {
        const [depth, introDepth] = depthOf(node.selectionSet, false);
        const report = (message: string) =>
          context.reportError(new GraphQLError(message, { nodes: [node], extensions: { code: 'QUERY_TOO_COMPLEX' } }));
        if (depth > max) report(`query is nested ${depth} levels deep; at most ${max} are allowed`);
        if (introDepth > maxIntrospection)
          report(`introspection is nested ${introDepth} levels deep; at most ${maxIntrospection} are allowed`);
      },
    };
  };
}
