import {
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { DEFAULT_PAGE } from '../services/paging.ts';

/** Assumed length of a list without `first`/`last` (thing model features, sub-devices, introspection's types…). */
export const LIST_ESTIMATE = 10;

export interface QueryCost {
  /** Estimated resolver calls: each field 1, times the sizes of the lists above it. */
  cost: number;
  /** Fields of the operation after fragment expansion (not multiplied by list sizes). */
  fields: number;
  aliases: number;
}

type Tally = QueryCost;

/**
 * Cost of one operation, before it runs. A connection field multiplies what is below it by its
 * `first`/`last` (DEFAULT_PAGE when absent), any other list by LIST_ESTIMATE; introspection counts like any field.
 * Linear in the document: each fragment is costed once (its type condition fixes its parent type) and reused at
 * every spread.
 */
export function queryCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): QueryCost | null {
  const fragments = new Map<string, FragmentDefinitionNode>();
  let op: OperationDefinitionNode | undefined;
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    else if (d.kind === Kind.OPERATION_DEFINITION && (operationName ? d.name?.value === operationName : !op)) op = d;
  }
  if (!op) return null;
  const root =
    op.operation === 'query'
      ? schema.getQueryType()
      : op.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!root) return null;
  const vars = variables ?? {};
  const memo = new Map<string, Tally>();
  const visiting = new Set<string>();

  const intArg = (v: ValueNode | undefined): number | null => {
    if (!v) return null;
    if (v.kind === Kind.INT) return Number(v.value);
    if (v.kind === Kind.VARIABLE) {
      const x = vars[v.name.value];
      return typeof x === 'number' && Number.isFinite(x) ? x : null;
    }
    return null;
  };

  const fieldDef = (parent: GraphQLNamedType | null, node: FieldNode): GraphQLField<unknown, unknown> | null => {
    const name = node.name.value;
    if (name === '__typename') return TypeNameMetaFieldDef;
    if (parent === root && name === '__schema') return SchemaMetaFieldDef;
    if (parent === root && name === '__type') return TypeMetaFieldDef;
    if (parent && (isObjectType(parent) || isInterfaceType(parent))) return parent.getFields()[name] ?? null;
    return null;
  };

  const multiplier = (
    parent: GraphQLNamedType | null,
    def: GraphQLField<unknown, unknown>,
    node: FieldNode,
  ): number => {
    const paged = def.args.some((a) => a.name === 'first' || a.name === 'last');
    if (paged) {
      const arg = (n: string) => intArg(node.arguments?.find((a) => a.name.value === n)?.value);
      const size = arg('first') ?? arg('last') ?? DEFAULT_PAGE;
      return Math.max(1, size);
    }
    // Lists inside a connection (edges, nodes) are already counted by the connection's page size.
    if (isListType(getNullableType(def.type))) return parent?.name.endsWith('Connection') ? 1 : LIST_ESTIMATE;
    return 1;
  };

  const tally = (set: SelectionSetNode | undefined, parent: GraphQLNamedType | null): Tally => {
    const t: Tally = { cost: 0, fields: 0, aliases: 0 };
    if (!set) return t;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        t.fields += 1;
        if (s.alias) t.aliases += 1;
        if (s.name.value === '__typename') continue;
        const def = fieldDef(parent, s);
        const below = tally(s.selectionSet, def ? getNamedType(def.type) : null);
        t.cost += 1 + (def ? multiplier(parent, def, s) : 1) * below.cost;
        t.fields += below.fields;
        t.aliases += below.aliases;
      } else {
        let sub: Tally;
        if (s.kind === Kind.INLINE_FRAGMENT) {
          sub = tally(s.selectionSet, s.typeCondition ? (schema.getType(s.typeCondition.name.value) ?? null) : parent);
        } else {
          const name = s.name.value;
          const f = fragments.get(name);
          const known = memo.get(name);
          if (known) sub = known;
          else if (!f || visiting.has(name)) sub = { cost: 0, fields: 0, aliases: 0 };
          else {
            visiting.add(name);
            sub = tally(f.selectionSet, schema.getType(f.typeCondition.name.value) ?? null);
            visiting.delete(name);
            memo.set(name, sub);
          }
        }
        t.cost += sub.cost;
        t.fields += sub.fields;
        t.aliases += sub.aliases;
      }
    }
    return t;
  };

  return tally(op.selectionSet, root);
}
