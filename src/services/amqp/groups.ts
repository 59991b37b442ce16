import { DomainError } from '../../domain/errors.ts';
import { EVENT_TYPES_OF, SERVER_SUBSCRIPTION_TYPES, type ServerSubscriptionType } from '../../domain/amqp/messages.ts';
import type { Executor } from '../../db/client.ts';
import type { ConsumerGroupRecord } from '../../db/amqp-records.ts';
import {
  countSettledAfter,
  countSubscribedEvents,
  deleteEntry,
  deleteGroup,
  deleteRelation,
  findExistingGroupIds,
  findGroup,
  findGroupById,
  findLogHead,
  insertEntries,
  insertGroup,
  insertGroupIfAbsent,
  insertRelation,
  listGroupEntries,
  listGroups,
  listProductEntries,
  listRelations,
  resetGroup,
  touchRelation,
} from '../../db/repositories/amqp.ts';
import { findProduct } from '../../db/repositories/products.ts';
import { assertProductVisible, canSeeProduct, requireRole, type Principal } from '../access.ts';
import type { ServiceDeps } from '../deps.ts';
import { randomAlnum } from '../secrets.ts';

/** cloud-api.md §7.4: always there, cannot be deleted. */
export const DEFAULT_GROUP = 'DEFAULT_GROUP';

export type { ConsumerGroupRecord };

export interface SubscribeRelationRecord {
  id: number;
  productKey: string;
  consumerGroupIds: string[];
  messageTypes: ServerSubscriptionType[];
  createdAt: Date;
}

export interface RelationInput {
  productKey: string;
  consumerGroupIds: readonly string[];
  messageTypes: readonly ServerSubscriptionType[];
}

const groupNotFound = (groupId: string, field = ['input', 'groupId']) =>
  new DomainError('CONSUMER_GROUP_NOT_FOUND', `consumer group ${groupId} does not exist`, field);

/** Consumer groups and subscribe relations (§8). Changes announce themselves with `registry.changed` for the AMQP server. */
export function createConsumerGroupService(deps: ServiceDeps) {
  const { database, log } = deps;
  const db = database.db;

  async function relationsOf(productKeys: readonly string[] | null): Promise<SubscribeRelationRecord[]> {
    const rels = await listRelations(db, productKeys);
    return rels.map((r) => {
      const mine = r.entries;
      return {
        id: r.id,
        productKey: r.productKey,
        consumerGroupIds: [...new Set(mine.map((e) => e.groupId))].sort(),
        messageTypes: SERVER_SUBSCRIPTION_TYPES.filter((t) => mine.some((e) => e.messageType === t)),
        createdAt: r.createdAt,
      };
    });
  }

  async function validate(tx: Executor, p: Principal, input: RelationInput): Promise<void> {
    assertProductVisible(p, input.productKey);
    const groups = [...new Set(input.consumerGroupIds)];
    if (groups.length === 0)
      throw new DomainError('INVALID_INPUT', 'consumerGroupIds must list at least one group', [
        'input',
        'consumerGroupIds',
      ]);
    if (input.messageTypes.length === 0)
      throw new DomainError('INVALID_INPUT', 'messageTypes must list at least one type', ['input', 'messageTypes']);
    if (!(await findProduct(tx, input.productKey)))
      throw new DomainError('PRODUCT_NOT_FOUND', `product ${input.productKey} does not exist`, ['input', 'productKey']);
    const found = await findExistingGroupIds(tx, groups);
    const missing = groups.filter((g) => !found.includes(g));
    if (missing.length > 0) throw groupNotFound(missing.join(', '), ['input', 'consumerGroupIds']);
  }

  /**
   * Replaces the relation's entries; unchanged (group, type) pairs keep their start position, new ones start after the
   * head of the log (no replay, §7.4).
   */
  async function writeEntries(tx: Executor, input: RelationInput): Promise<void> {
    const head = await findLogHead(tx);
    const existing = await listProductEntries(tx, input.productKey);
    const wanted = new Set(input.consumerGroupIds.flatMap((g) => input.messageTypes.map((t) => `${g}\u0000${t}`)));
    for (const e of existing) {
      if (!wanted.has(`${e.groupId}\u0000${e.messageType}`)) {
        await deleteEntry(tx, e);
      }
    }
    const fresh = [...wanted].filter((k) => !existing.some((e) => `${e.groupId}\u0000${e.messageType}` === k));
    await insertEntries(
      tx,
      fresh.map((k) => {
        const [groupId, messageType] = k.split('\u0000') as [string, string];
        return { productKey: input.productKey, groupId, messageType, sincePosition: head };
      }),
    );
  }

  const changed = (what: string, extra: Record<string, unknown> = {}) => ({
    type: 'registry.changed' as const,
    data: { entity: 'consumerGroup', what, ...extra },
  });

  /**
   * Create or update a product's relation: `write` claims the relation row (false: it exists already, or not at all,
   * reported as `code`), then the entries follow the input.
   */
  async function writeRelation(
    p: Principal,
    input: RelationInput,
    write: (tx: Executor, productKey: string) => Promise<boolean>,
    code: 'SUBSCRIBE_RELATION_EXISTS' | 'SUBSCRIBE_RELATION_NOT_FOUND',
    problem: string,
  ): Promise<SubscribeRelationRecord> {
    requireRole(p, 'OPERATOR');
    await log.transaction(async (tx, emit) => {
      await validate(tx, p, input);
      if (!(await write(tx, input.productKey)))
        throw new DomainError(code, `product ${input.productKey} ${problem}`, ['input', 'productKey']);
      await writeEntries(tx, input);
      emit({ ...changed('relation', { productKey: input.productKey }), productKey: input.productKey });
    });
    return (await relationsOf([input.productKey]))[0]!;
  }

  return {
    /** DEFAULT_GROUP exists from the first start (several instances agree through the insert-if-absent); new groups start at the head. */
    async ensureDefaultGroup(): Promise<void> {
      const head = await findLogHead(db);
      await insertGroupIfAbsent(db, { groupId: DEFAULT_GROUP, name: DEFAULT_GROUP, position: head });
    },

    async listGroups(p: Principal): Promise<ConsumerGroupRecord[]> {
      requireRole(p, 'VIEWER');
      return listGroups(db);
    },

    async getGroup(p: Principal | null, groupId: string): Promise<ConsumerGroupRecord | null> {
      if (p) requireRole(p, 'VIEWER');
      return findGroup(db, groupId);
    },

    async getGroupByNodeId(p: Principal, id: number): Promise<ConsumerGroupRecord | null> {
      requireRole(p, 'VIEWER');
      return findGroupById(db, id);
    },

    async createGroup(p: Principal, input: { name: string }): Promise<ConsumerGroupRecord> {
      requireRole(p, 'OPERATOR');
      const name = input.name.trim();
      if (name.length < 1 || name.length > 30)
        throw new DomainError('INVALID_NAME', 'name must be 1 to 30 characters', ['input', 'name']);
      const head = await findLogHead(db);
      return insertGroup(db, { groupId: randomAlnum(26), name, position: head });
    },

    async deleteGroup(p: Principal, groupId: string): Promise<string> {
      requireRole(p, 'OPERATOR');
      if (groupId === DEFAULT_GROUP)
        throw new DomainError('DEFAULT_GROUP_UNDELETABLE', 'DEFAULT_GROUP cannot be deleted', ['input', 'groupId']);
      return log.transaction(async (tx, emit) => {
        if (!(await deleteGroup(tx, groupId))) throw groupNotFound(groupId);
        emit(changed('deleted', { groupId }));
        return groupId;
      });
    },

    /** Moves the cursor to the head: the backlog and whatever is in flight are dropped. */
    async resetPosition(p: Principal, groupId: string): Promise<ConsumerGroupRecord> {
      requireRole(p, 'OPERATOR');
      return log.transaction(async (tx, emit) => {
        const head = await findLogHead(tx);
        const row = await resetGroup(tx, groupId, head);
        if (!row) throw groupNotFound(groupId);
        emit(changed('reset', { groupId }));
        return row;
      });
    },

    /** Messages after the group's cursor that its relations carry and that are not settled yet (§8 `backlog`). */
    async backlog(group: ConsumerGroupRecord): Promise<number> {
      const entries = await listGroupEntries(db, group.groupId);
      let total = 0;
      for (const e of entries) {
        const types = EVENT_TYPES_OF[e.messageType as ServerSubscriptionType] ?? [];
        total += await countSubscribedEvents(db, e.productKey, types, Math.max(group.position, e.sincePosition));
      }
      return Math.max(0, total - (await countSettledAfter(db, group.groupId, group.position)));
    },

    async listRelations(p: Principal, productKey?: string | null): Promise<SubscribeRelationRecord[]> {
      requireRole(p, 'VIEWER');
      if (productKey != null) return canSeeProduct(p, productKey) ? relationsOf([productKey]) : [];
      return relationsOf(p.productKeys);
    },

    createRelation: (p: Principal, input: RelationInput): Promise<SubscribeRelationRecord> =>
      writeRelation(p, input, insertRelation, 'SUBSCRIBE_RELATION_EXISTS', 'already has a subscribe relation'),

    updateRelation: (p: Principal, input: RelationInput): Promise<SubscribeRelationRecord> =>
      writeRelation(p, input, touchRelation, 'SUBSCRIBE_RELATION_NOT_FOUND', 'has no subscribe relation'),

    async deleteRelation(p: Principal, productKey: string): Promise<string> {
      requireRole(p, 'OPERATOR');
      const notFound = () =>
        new DomainError('SUBSCRIBE_RELATION_NOT_FOUND', `product ${productKey} has no subscribe relation`, [
          'input',
          'productKey',
        ]);
      if (!canSeeProduct(p, productKey)) throw notFound();
      return log.transaction(async (tx, emit) => {
        if (!(await deleteRelation(tx, productKey))) throw notFound();
        emit({ ...changed('relation', { productKey }), productKey });
        return productKey;
      });
    },

    /** The group's entries: product -> event type -> position the subscription starts after. */
    async entriesOf(groupId: string): Promise<Map<string, Map<string, number>>> {
      const rows = await listGroupEntries(db, groupId);
      const m = new Map<string, Map<string, number>>();
      for (const r of rows) {
        let byType = m.get(r.productKey);
        if (!byType) m.set(r.productKey, (byType = new Map()));
        for (const t of EVENT_TYPES_OF[r.messageType as ServerSubscriptionType] ?? []) byType.set(t, r.sincePosition);
      }
      return m;
    },
  };
}

export type ConsumerGroupService = ReturnType<typeof createConsumerGroupService>;
