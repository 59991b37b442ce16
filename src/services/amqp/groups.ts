import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import { DomainError } from '../../domain/errors.ts';
import { EVENT_TYPES_OF, SERVER_SUBSCRIPTION_TYPES, type ServerSubscriptionType } from '../../domain/amqp/messages.ts';
import { query, type Executor } from '../../db/client.ts';
import { amqpDeliveries, consumerGroups, products, subscribeRelations, subscriptionEntries } from '../../db/tables.ts';
import { assertProductVisible, canSeeProduct, requireRole, type Principal } from '../access.ts';
import type { ServiceDeps } from '../deps.ts';
import { randomAlnum } from '../secrets.ts';

/** cloud-api.md §7.4: always there, cannot be deleted. */
export const DEFAULT_GROUP = 'DEFAULT_GROUP';

export interface ConsumerGroupRecord {
  id: number;
  groupId: string;
  name: string;
  position: number;
  createdAt: Date;
}

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

/** The head of the log: a new group, relation or message type starts after it (no replay, §7.4). */
async function logHead(ex: Executor): Promise<number> {
  const rows = await query<{ p: string | number | null }>(ex, sql`select max(position) as p from events`);
  return Number(rows[0]?.p ?? 0);
}

const groupNotFound = (groupId: string, field = ['input', 'groupId']) =>
  new DomainError('CONSUMER_GROUP_NOT_FOUND', `consumer group ${groupId} does not exist`, field);

/** Consumer groups and subscribe relations (§8). Changes announce themselves with `registry.changed` for the AMQP server. */
export function createConsumerGroupService(deps: ServiceDeps) {
  const { database, log } = deps;
  const db = database.db;

  async function relationsOf(productKeys: readonly string[] | null): Promise<SubscribeRelationRecord[]> {
    const rels = await db
      .select()
      .from(subscribeRelations)
      .where(productKeys ? inArray(subscribeRelations.productKey, [...productKeys, '']) : undefined)
      .orderBy(asc(subscribeRelations.id));
    if (rels.length === 0) return [];
    const entries = await db.select().from(subscriptionEntries).where(inArray(subscriptionEntries.productKey, rels.map((r) => r.productKey)));
    return rels.map((r) => {
      const mine = entries.filter((e) => e.productKey === r.productKey);
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
    if (groups.length === 0) throw new DomainError('INVALID_INPUT', 'consumerGroupIds must list at least one group', ['input', 'consumerGroupIds']);
    if (input.messageTypes.length === 0) throw new DomainError('INVALID_INPUT', 'messageTypes must list at least one type', ['input', 'messageTypes']);
    const [prod] = await tx.select({ k: products.productKey }).from(products).where(eq(products.productKey, input.productKey));
    if (!prod) throw new DomainError('PRODUCT_NOT_FOUND', `product ${input.productKey} does not exist`, ['input', 'productKey']);
    const found = await tx.select({ g: consumerGroups.groupId }).from(consumerGroups).where(inArray(consumerGroups.groupId, groups));
    const missing = groups.filter((g) => !found.some((f) => f.g === g));
    if (missing.length > 0) throw groupNotFound(missing.join(', '), ['input', 'consumerGroupIds']);
  }

  /** Replaces the relation's entries; unchanged (group, type) pairs keep their start position. */
  async function writeEntries(tx: Executor, input: RelationInput): Promise<void> {
    const head = await logHead(tx);
    const existing = await tx.select().from(subscriptionEntries).where(eq(subscriptionEntries.productKey, input.productKey));
    const wanted = new Set(input.consumerGroupIds.flatMap((g) => input.messageTypes.map((t) => `${g}\u0000${t}`)));
    for (const e of existing) {
      if (!wanted.has(`${e.groupId}\u0000${e.messageType}`)) {
        await tx.delete(subscriptionEntries).where(and(eq(subscriptionEntries.productKey, e.productKey), eq(subscriptionEntries.groupId, e.groupId), eq(subscriptionEntries.messageType, e.messageType)));
      }
    }
    const fresh = [...wanted].filter((k) => !existing.some((e) => `${e.groupId}\u0000${e.messageType}` === k));
    if (fresh.length > 0) {
      await tx.insert(subscriptionEntries).values(
        fresh.map((k) => {
          const [groupId, messageType] = k.split('\u0000') as [string, string];
          return { productKey: input.productKey, groupId, messageType, sincePosition: head };
        }),
      );
    }
  }

  const changed = (what: string, extra: Record<string, unknown> = {}) => ({ type: 'registry.changed' as const, data: { entity: 'consumerGroup', what, ...extra } });

  return {
    /** DEFAULT_GROUP exists from the first start (several instances agree through the insert-if-absent). */
    async ensureDefaultGroup(): Promise<void> {
      const head = await logHead(db);
      await db.insert(consumerGroups).values({ groupId: DEFAULT_GROUP, name: DEFAULT_GROUP, position: head }).onConflictDoNothing();
    },

    async listGroups(p: Principal): Promise<ConsumerGroupRecord[]> {
      requireRole(p, 'VIEWER');
      return db.select().from(consumerGroups).orderBy(asc(consumerGroups.id));
    },

    async getGroup(p: Principal | null, groupId: string): Promise<ConsumerGroupRecord | null> {
      if (p) requireRole(p, 'VIEWER');
      const rows = await db.select().from(consumerGroups).where(eq(consumerGroups.groupId, groupId));
      return rows[0] ?? null;
    },

    async getGroupByNodeId(p: Principal, id: number): Promise<ConsumerGroupRecord | null> {
      requireRole(p, 'VIEWER');
      const rows = await db.select().from(consumerGroups).where(eq(consumerGroups.id, id));
      return rows[0] ?? null;
    },

    async createGroup(p: Principal, input: { name: string }): Promise<ConsumerGroupRecord> {
      requireRole(p, 'OPERATOR');
      const name = input.name.trim();
      if (name.length < 1 || name.length > 30) throw new DomainError('INVALID_NAME', 'name must be 1 to 30 characters', ['input', 'name']);
      const head = await logHead(db);
      const [row] = await db.insert(consumerGroups).values({ groupId: randomAlnum(26), name, position: head }).returning();
      return row!;
    },

    async deleteGroup(p: Principal, groupId: string): Promise<string> {
      requireRole(p, 'OPERATOR');
      if (groupId === DEFAULT_GROUP) throw new DomainError('DEFAULT_GROUP_UNDELETABLE', 'DEFAULT_GROUP cannot be deleted', ['input', 'groupId']);
      return log.transaction(async (tx, emit) => {
        const rows = await tx.delete(consumerGroups).where(eq(consumerGroups.groupId, groupId)).returning();
        if (rows.length === 0) throw groupNotFound(groupId);
        await tx.delete(subscriptionEntries).where(eq(subscriptionEntries.groupId, groupId));
        await tx.delete(amqpDeliveries).where(eq(amqpDeliveries.groupId, groupId));
        emit(changed('deleted', { groupId }));
        return groupId;
      });
    },

    /** Moves the cursor to the head: the backlog and whatever is in flight are dropped. */
    async resetPosition(p: Principal, groupId: string): Promise<ConsumerGroupRecord> {
      requireRole(p, 'OPERATOR');
      return log.transaction(async (tx, emit) => {
        const head = await logHead(tx);
        const [row] = await tx.update(consumerGroups).set({ position: head }).where(eq(consumerGroups.groupId, groupId)).returning();
        if (!row) throw groupNotFound(groupId);
        await tx.delete(amqpDeliveries).where(eq(amqpDeliveries.groupId, groupId));
        emit(changed('reset', { groupId }));
        return row;
      });
    },

    /** Messages after the group's cursor that its relations carry and that are not settled yet (§8 `backlog`). */
    async backlog(group: ConsumerGroupRecord): Promise<number> {
      const entries = await db.select().from(subscriptionEntries).where(eq(subscriptionEntries.groupId, group.groupId));
      let total = 0;
      for (const e of entries) {
        const types = EVENT_TYPES_OF[e.messageType as ServerSubscriptionType] ?? [];
        const rows = await query<{ n: string | number }>(
          db,
          sql`select count(*) as n from events where product_key = ${e.productKey} and position > ${Math.max(group.position, e.sincePosition)}
              and type in (${sql.join(types.map((t) => sql`${t}`), sql`, `)})
              and not (type = 'device.message' and data->>'topic' like '/sys/%')`,
        );
        total += Number(rows[0]?.n ?? 0);
      }
      const settled = await db
        .select({ n: sql<number>`count(*)` })
        .from(amqpDeliveries)
        .where(and(eq(amqpDeliveries.groupId, group.groupId), eq(amqpDeliveries.settled, true), gt(amqpDeliveries.position, group.position)));
      return Math.max(0, total - Number(settled[0]?.n ?? 0));
    },

    async listRelations(p: Principal, productKey?: string | null): Promise<SubscribeRelationRecord[]> {
      requireRole(p, 'VIEWER');
      if (productKey != null) return canSeeProduct(p, productKey) ? relationsOf([productKey]) : [];
      return relationsOf(p.productKeys);
    },

    async createRelation(p: Principal, input: RelationInput): Promise<SubscribeRelationRecord> {
      requireRole(p, 'OPERATOR');
      await log.transaction(async (tx, emit) => {
        await validate(tx, p, input);
        const inserted = await tx.insert(subscribeRelations).values({ productKey: input.productKey }).onConflictDoNothing().returning();
        if (inserted.length === 0) throw new DomainError('SUBSCRIBE_RELATION_EXISTS', `product ${input.productKey} already has a subscribe relation`, ['input', 'productKey']);
        await writeEntries(tx, input);
        emit({ ...changed('relation', { productKey: input.productKey }), productKey: input.productKey });
      });
      return (await relationsOf([input.productKey]))[0]!;
    },

    async updateRelation(p: Principal, input: RelationInput): Promise<SubscribeRelationRecord> {
      requireRole(p, 'OPERATOR');
      await log.transaction(async (tx, emit) => {
        await validate(tx, p, input);
        const rows = await tx.update(subscribeRelations).set({ updatedAt: new Date() }).where(eq(subscribeRelations.productKey, input.productKey)).returning();
        if (rows.length === 0) throw new DomainError('SUBSCRIBE_RELATION_NOT_FOUND', `product ${input.productKey} has no subscribe relation`, ['input', 'productKey']);
        await writeEntries(tx, input);
        emit({ ...changed('relation', { productKey: input.productKey }), productKey: input.productKey });
      });
      return (await relationsOf([input.productKey]))[0]!;
    },

    async deleteRelation(p: Principal, productKey: string): Promise<string> {
      requireRole(p, 'OPERATOR');
      const notFound = () => new DomainError('SUBSCRIBE_RELATION_NOT_FOUND', `product ${productKey} has no subscribe relation`, ['input', 'productKey']);
      if (!canSeeProduct(p, productKey)) throw notFound();
      return log.transaction(async (tx, emit) => {
        const rows = await tx.delete(subscribeRelations).where(eq(subscribeRelations.productKey, productKey)).returning();
        if (rows.length === 0) throw notFound();
        await tx.delete(subscriptionEntries).where(eq(subscriptionEntries.productKey, productKey));
        emit({ ...changed('relation', { productKey }), productKey });
        return productKey;
      });
    },

    /** The group's entries: product -> event type -> position the subscription starts after. */
    async entriesOf(groupId: string): Promise<Map<string, Map<string, number>>> {
      const rows = await db.select().from(subscriptionEntries).where(eq(subscriptionEntries.groupId, groupId));
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
