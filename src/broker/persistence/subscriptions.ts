import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import QlobberSub from 'qlobber/aedes/qlobber-sub.js';
import type { Executor } from '../../db/client.ts';
import { mqttSubscriptions } from '../../db/schema/broker.ts';

/** aedes-persistence's matcher options (asyncPersistence.js QLOBBER_OPTIONS). */
export const QLOBBER_OPTIONS = { wildcard_one: '+', wildcard_some: '#', separator: '/' } as const;

/** A subscription as SUBSCRIBE carries it and subscriptionsByClient returns it. */
export interface Subscription {
  topic: string;
  qos: number;
  rh?: number | undefined;
  rap?: boolean | undefined;
  nl?: boolean | undefined;
  /** MQTT 5 Subscription Identifier; stored and restored, never part of topic matching (as in aedes-persistence). */
  subscriptionIdentifier?: number | undefined;
}

/** What subscriptionsByTopic returns (and the Qlobber holds). */
export interface TopicSubscription {
  clientId: string;
  topic: string;
  qos: number;
  rh: number | undefined;
  rap: boolean | undefined;
  nl: boolean | undefined;
}

type Row = typeof mqttSubscriptions.$inferSelect;

const orUndefined = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

export function toSubscription(r: Row): Subscription {
  const s: Subscription = {
    topic: r.topic,
    qos: r.qos,
    rh: orUndefined(r.rh),
    rap: orUndefined(r.rap),
    nl: orUndefined(r.nl),
  };
  if (r.subscriptionIdentifier !== null) s.subscriptionIdentifier = r.subscriptionIdentifier;
  return s;
}

function toTopicSubscription(r: Pick<Row, 'clientId' | 'topic' | 'qos' | 'rh' | 'rap' | 'nl'>): TopicSubscription {
  return {
    clientId: r.clientId,
    topic: r.topic,
    qos: r.qos,
    rh: orUndefined(r.rh),
    rap: orUndefined(r.rap),
    nl: orUndefined(r.nl),
  };
}

/**
 * The in-memory matcher for subscriptionsByTopic: the QoS > 0 subscriptions of the table (QoS 0 ones are restored on
 * reconnect but never queued offline, as in aedes-persistence), plus a per-client mirror so that one client's entries
 * can be replaced from the database.
 */
export class SubscriptionIndex {
  #trie = new QlobberSub<TopicSubscription>(QLOBBER_OPTIONS);
  #byClient = new Map<string, Map<string, TopicSubscription>>();

  match(topic: string): TopicSubscription[] {
    return this.#trie.match(topic);
  }

  get size(): number {
    return this.#trie.subscriptionsCount;
  }

  /** Add or replace one subscription; QoS 0 removes it from matching. */
  put(sub: TopicSubscription): void {
    if (sub.qos > 0) {
      this.#trie.add(sub.topic, sub);
      let mine = this.#byClient.get(sub.clientId);
      if (!mine) this.#byClient.set(sub.clientId, (mine = new Map()));
      mine.set(sub.topic, sub);
    } else {
      this.remove(sub.clientId, sub.topic);
    }
  }

  remove(clientId: string, topic: string): void {
    const mine = this.#byClient.get(clientId);
    if (!mine?.has(topic)) return;
    this.#trie.remove(topic, { clientId, topic });
    mine.delete(topic);
    if (mine.size === 0) this.#byClient.delete(clientId);
  }

  removeClient(clientId: string): void {
    for (const topic of [...(this.#byClient.get(clientId)?.keys() ?? [])]) this.remove(clientId, topic);
  }

  /** Make the index hold exactly `subs` for this client. */
  setClient(clientId: string, subs: TopicSubscription[]): void {
    const keep = new Set(subs.filter((s) => s.qos > 0).map((s) => s.topic));
    for (const topic of [...(this.#byClient.get(clientId)?.keys() ?? [])])
      if (!keep.has(topic)) this.remove(clientId, topic);
    for (const s of subs) this.put(s);
  }

  /** A fresh index from every matchable row; rows the matcher rejects (too many levels) are skipped and returned. */
  static from(rows: TopicSubscription[]): { index: SubscriptionIndex; rejected: TopicSubscription[] } {
    const index = new SubscriptionIndex();
    const rejected: TopicSubscription[] = [];
    for (const r of rows) {
      try {
        index.put(r);
      } catch {
        rejected.push(r);
      }
    }
    return { index, rejected };
  }
}

// ---- table access: repositories (db, params) -> rows ----

/** Last one wins for a topic repeated in one SUBSCRIBE (an upsert may not touch a row twice). */
export function lastPerTopic(subs: readonly Subscription[]): Subscription[] {
  const byTopic = new Map<string, Subscription>();
  for (const s of subs) byTopic.set(s.topic, s);
  return [...byTopic.values()];
}

export async function upsertSubscriptions(
  ex: Executor,
  clientId: string,
  subs: readonly Subscription[],
): Promise<void> {
  if (subs.length === 0) return;
  const t = mqttSubscriptions;
  await ex
    .insert(t)
    .values(
      subs.map((s) => ({
        clientId,
        topic: s.topic,
        qos: s.qos,
        rh: s.rh ?? null,
        rap: s.rap ?? null,
        nl: s.nl ?? null,
        subscriptionIdentifier: s.subscriptionIdentifier ?? null,
      })),
    )
    .onConflictDoUpdate({
      target: [t.clientId, t.topic],
      set: {
        qos: sql`excluded.qos`,
        rh: sql`excluded.rh`,
        rap: sql`excluded.rap`,
        nl: sql`excluded.nl`,
        subscriptionIdentifier: sql`excluded.subscription_identifier`,
        updatedAt: sql`now()`,
      },
    });
}

export async function deleteSubscriptions(ex: Executor, clientId: string, topics: readonly string[]): Promise<void> {
  if (topics.length === 0) return;
  const t = mqttSubscriptions;
  await ex.delete(t).where(and(eq(t.clientId, clientId), inArray(t.topic, [...topics])));
}

export async function deleteClientSubscriptions(ex: Executor, clientId: string): Promise<void> {
  const t = mqttSubscriptions;
  await ex.delete(t).where(eq(t.clientId, clientId));
}

export async function clientSubscriptions(ex: Executor, clientId: string): Promise<Subscription[]> {
  const t = mqttSubscriptions;
  const rows = await ex.select().from(t).where(eq(t.clientId, clientId)).orderBy(asc(t.seq));
  return rows.map(toSubscription);
}

/** The matchable (QoS > 0) subscriptions of one client, or of every client. */
export async function matchableSubscriptions(ex: Executor, clientId?: string): Promise<TopicSubscription[]> {
  const t = mqttSubscriptions;
  const cols = { clientId: t.clientId, topic: t.topic, qos: t.qos, rh: t.rh, rap: t.rap, nl: t.nl };
  const where = clientId === undefined ? gt(t.qos, 0) : and(eq(t.clientId, clientId), gt(t.qos, 0));
  const rows = await ex.select(cols).from(t).where(where).orderBy(asc(t.seq));
  return rows.map(toTopicSubscription);
}

export async function countSubscriptions(ex: Executor): Promise<{ subsCount: number; clientsCount: number }> {
  const t = mqttSubscriptions;
  const [row] = await ex
    .select({
      subsCount: sql<number>`count(*) filter (where ${t.qos} > 0)`.mapWith(Number),
      clientsCount: sql<number>`count(distinct ${t.clientId})`.mapWith(Number),
    })
    .from(t);
  return { subsCount: row?.subsCount ?? 0, clientsCount: row?.clientsCount ?? 0 };
}

/** Clients subscribed with exactly this topic filter (any QoS), in subscription order. */
export async function clientsSubscribedTo(ex: Executor, topic: string): Promise<string[]> {
  const t = mqttSubscriptions;
  const rows = await ex.select({ clientId: t.clientId }).from(t).where(eq(t.topic, topic)).orderBy(asc(t.seq));
  return rows.map((r) => r.clientId);
}
