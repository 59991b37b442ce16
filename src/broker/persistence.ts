/**
 * An aedes persistence in ThingQL's own database (aedes-persistence 11 interface, the promise form aedes 1.x calls),
 * so that persistent sessions (`clean: false`, the Link SDK default), their subscriptions, offline QoS 1/2 queues,
 * retained messages, wills and inbound QoS 2 packet ids survive a restart and move between instances.
 *
 * The tables (src/db/schema/broker.ts) are the source of truth; every method reads and writes them, except
 * subscriptionsByTopic, which runs on every QoS > 0 publish and is answered from an in-memory matcher kept in step
 * with the table and with the other instances (persistence/matcher.ts).
 */
import { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { query, type Database, type Executor } from '../db/client.ts';
import type { Packet } from './persistence/codec.ts';
import { DeliveryHandover, type ForwardClient, type ForwardPacket } from './persistence/handover.ts';
import { SubscriptionMatcher, type MqEmitter, type PersistenceLogger } from './persistence/matcher.ts';
import {
  cleanIncoming,
  clearOutgoing,
  deleteIncoming,
  enqueueOutgoing,
  getIncoming,
  outgoingPackets,
  storeIncoming,
  updateOutgoing,
} from './persistence/queues.ts';
import { InflightReplies, isReplyTopic } from './persistence/replies.ts';
import { retainedMatching, storeRetained } from './persistence/retained.ts';
import {
  clientsSubscribedTo,
  clientSubscriptions,
  countSubscriptions,
  deleteClientSubscriptions,
  deleteSubscriptions,
  lastPerTopic,
  upsertSubscriptions,
  type Subscription,
  type TopicSubscription,
} from './persistence/subscriptions.ts';
import { delWill, getWill, putWill, willsOutside } from './persistence/wills.ts';
import { grantedOnly } from './subscription-acl.ts';

export type { ForwardPacket, Packet, PersistenceLogger, Subscription, TopicSubscription };

export interface PgPersistenceOptions {
  logger?: PersistenceLogger | undefined;
  /**
   * Reload the whole subscription matcher from the database every this many ms (0 or unset: never). Only useful with
   * several instances: it repairs what a lost change notice (e.g. a Redis hiccup) left stale.
   */
  resyncIntervalMs?: number | undefined;
  /** Rows per query when streaming retained messages, queued packets and wills (default 500). */
  pageSize?: number | undefined;
  /**
   * This instance is the only one writing broker state (no REDIS_URL: one instance). It then knows which clients have
   * stored state and whether anything is retained, and skips the queries a clean session would otherwise make at every
   * connect, subscribe and PUBACK (they dominated the login rate on the single-connection embedded database).
   */
  exclusive?: boolean | undefined;
}

export interface PersistenceBroker {
  id: string;
  mq?: MqEmitter;
}

/** aedes passes its Client; `brokerId` is set when aedes deletes a will on behalf of a given broker. */
export interface PersistenceClient {
  id: string;
  brokerId?: string;
}

export class PgPersistence {
  readonly #db: Executor;
  readonly #pageSize: number;
  readonly #resyncIntervalMs: number;
  readonly #matcher: SubscriptionMatcher;
  #broker: PersistenceBroker | undefined;
  #destroyed = false;
  readonly #exclusive: boolean;
  /** exclusive: clients that have (or may have) stored state; others have none, so reads and deletes are skipped. */
  readonly #stateful = new Set<string>();
  #anyRetained = true;
  readonly #replies = new InflightReplies();
  readonly #handover = new DeliveryHandover();

  constructor(database: Database, opts: PgPersistenceOptions = {}) {
    this.#db = database.db;
    this.#pageSize = opts.pageSize ?? 500;
    this.#resyncIntervalMs = opts.resyncIntervalMs ?? 0;
    this.#matcher = new SubscriptionMatcher(this.#db, opts.logger);
    this.#exclusive = opts.exclusive ?? false;
  }

  /** false only when, as the only writer, this instance knows the client has nothing stored. */
  #mayHaveState(clientId: string): boolean {
    return !this.#exclusive || this.#stateful.has(clientId);
  }

  #touch(clientId: string): void {
    if (this.#exclusive) this.#stateful.add(clientId);
  }

  get broker(): PersistenceBroker | undefined {
    return this.#broker;
  }

  /** aedes calls this from `listen()` (it checks that it is an async function). */
  async setup(broker: PersistenceBroker): Promise<void> {
    this.#broker = broker;
    await this.#matcher.start(broker, this.#resyncIntervalMs);
    if (this.#exclusive) {
      const rows = await query<{ client_id: string }>(
        this.#db,
        sql`select client_id from mqtt_subscriptions union select client_id from mqtt_outgoing union select client_id from mqtt_incoming union select client_id from mqtt_wills`,
      );
      for (const r of rows) this.#stateful.add(r.client_id);
      const retained = await query<{ n: number }>(
        this.#db,
        sql`select count(*)::int as n from (select 1 from mqtt_retained limit 1) r`,
      );
      this.#anyRetained = Number(retained[0]?.n ?? 0) > 0;
    }
  }

  /** Reload the subscription matcher from the database (setup does; also on a timer when configured). */
  refresh(): Promise<void> {
    return this.#matcher.refresh();
  }

  // ---- retained ----

  async storeRetained(packet: Packet): Promise<void> {
    this.#anyRetained = true;
    await storeRetained(this.#db, packet);
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    if (!this.#anyRetained) return Readable.from([]);
    return Readable.from(retainedMatching(this.#db, patterns, this.#pageSize));
  }

  /** Deprecated in aedes-persistence; kept for completeness. */
  createRetainedStream(pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern]);
  }

  // ---- subscriptions ----

  async addSubscriptions(client: PersistenceClient, subs: Subscription[]): Promise<void> {
    const clientId = client.id;
    // aedes passes every filter of the SUBSCRIBE packet, denied ones too: store only what the ACL granted (subscription-acl.ts).
    const list = lastPerTopic(grantedOnly(client, subs));
    if (list.length === 0) return;
    this.#touch(clientId);
    await this.#matcher.change(
      clientId,
      () => upsertSubscriptions(this.#db, clientId, list),
      (ix) => {
        for (const s of list) ix.put({ clientId, topic: s.topic, qos: s.qos, rh: s.rh, rap: s.rap, nl: s.nl });
      },
    );
  }

  async removeSubscriptions(client: PersistenceClient, topics: string[]): Promise<void> {
    const clientId = client.id;
    if (!this.#mayHaveState(clientId)) return;
    await this.#matcher.change(
      clientId,
      () => deleteSubscriptions(this.#db, clientId, topics),
      (ix) => {
        for (const topic of topics) ix.remove(clientId, topic);
      },
    );
  }

  async cleanSubscriptions(client: PersistenceClient): Promise<void> {
    const clientId = client.id;
    if (!this.#mayHaveState(clientId)) return;
    await this.#matcher.change(
      clientId,
      () => deleteClientSubscriptions(this.#db, clientId),
      (ix) => ix.removeClient(clientId),
    );
  }

  /** From the table, not the matcher: a session made on another instance is restored here too. */
  async subscriptionsByClient(client: PersistenceClient): Promise<Subscription[]> {
    if (!this.#mayHaveState(client.id)) return [];
    return clientSubscriptions(this.#db, client.id);
  }

  async subscriptionsByTopic(topic: string): Promise<TopicSubscription[]> {
    return this.#matcher.match(topic);
  }

  async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return countSubscriptions(this.#db);
  }

  getClientList(topic: string): Readable {
    const db = this.#db;
    return Readable.from(
      (async function* () {
        yield* await clientsSubscribedTo(db, topic);
      })(),
    );
  }

  // ---- outgoing (QoS > 0 deliveries to persistent sessions) ----

  async outgoingEnqueue(sub: { clientId: string }, packet: Packet): Promise<void> {
    if (isReplyTopic(packet.topic)) return;
    this.#touch(sub.clientId);
    await enqueueOutgoing(this.#db, [sub.clientId], packet);
  }

  /**
   * aedes asks to queue one copy per matching subscription; a device whose own subscriptions overlap (the Link SDK's
   * `thing/service/property/set` and D19's `thing/service/property/+`) would get the command twice after reconnecting
   * and apply it twice. One copy per client.
   */
  async outgoingEnqueueCombi(subs: { clientId: string }[], packet: Packet): Promise<void> {
    if (isReplyTopic(packet.topic)) return;
    const clients = [...new Set(subs.map((s) => s.clientId))];
    for (const c of clients) this.#touch(c);
    await enqueueOutgoing(this.#db, clients, packet);
  }

  async outgoingUpdate(client: PersistenceClient, packet: Packet): Promise<void> {
    if (isReplyTopic(packet.topic)) return this.#replies.add(client.id, packet.messageId);
    if (!this.#mayHaveState(client.id)) return;
    await updateOutgoing(this.#db, client.id, packet);
  }

  async outgoingClearMessageId(
    client: PersistenceClient,
    packet: { messageId?: unknown } | null | undefined,
  ): Promise<Packet | undefined> {
    if (this.#replies.take(client.id, packet?.messageId)) return undefined;
    if (!this.#mayHaveState(client.id)) return undefined;
    return clearOutgoing(this.#db, client.id, packet?.messageId);
  }

  /** A reconnecting persistent session's replay: what the live path has sent this connection is left out. */
  outgoingStream(client: PersistenceClient): Readable {
    this.#replies.reset(client.id);
    const packets = this.#mayHaveState(client.id) ? outgoingPackets(this.#db, client.id, this.#pageSize) : noPackets();
    return Readable.from(this.#handover.replay(client, packets));
  }

  /**
   * For the broker's authorizeForward: false when this connection's replay has already sent the packet, which the
   * live path must then drop. Without it a publish still on its way while the session reconnects (aedes PUBACKs
   * first, then queues and emits) can be sent to it twice, under two packet ids (persistence/handover.ts).
   */
  forwardOnce(client: ForwardClient, packet: ForwardPacket): boolean {
    return this.#handover.forwardOnce(client, packet);
  }

  // ---- incoming QoS 2 ----

  async incomingStorePacket(client: PersistenceClient, packet: Packet): Promise<void> {
    this.#touch(client.id);
    await storeIncoming(this.#db, client.id, packet);
  }

  async incomingGetPacket(client: PersistenceClient, packet: { messageId?: unknown }): Promise<Packet> {
    return getIncoming(this.#db, client.id, packet.messageId);
  }

  async incomingDelPacket(client: PersistenceClient, packet: { messageId?: unknown }): Promise<void> {
    await deleteIncoming(this.#db, client.id, packet.messageId);
  }

  /** [MQTT-3.1.2-6]: a clean session discards the QoS 2 dedup state too. */
  async cleanIncoming(client: PersistenceClient): Promise<void> {
    if (!this.#mayHaveState(client.id)) return;
    await cleanIncoming(this.#db, client.id);
  }

  // ---- wills ----

  async putWill(client: PersistenceClient, packet: Packet): Promise<void> {
    this.#touch(client.id);
    await putWill(this.#db, client.id, this.#brokerId(), packet);
  }

  async getWill(client: PersistenceClient): Promise<Packet | undefined> {
    if (!this.#mayHaveState(client.id)) return undefined;
    return getWill(this.#db, client.id);
  }

  async delWill(client: PersistenceClient): Promise<Packet | undefined> {
    // With a broker id the caller deletes a will it knows of (a dead broker's, published or dropped): always look.
    if (client.brokerId === undefined && !this.#mayHaveState(client.id)) return undefined;
    return delWill(this.#db, client.id, client.brokerId);
  }

  /** Wills of brokers not in `brokers` (aedes: the ones it has heard a heartbeat from); aedes publishes and deletes them. */
  streamWill(brokers: Record<string, unknown> = {}): Readable {
    return Readable.from(willsOutside(this.#db, Object.keys(brokers), this.#pageSize));
  }

  /** Stops listening and waits for pending subscription changes; the database stays open (the caller owns it). */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await this.#matcher.stop();
  }

  #brokerId(): string {
    if (!this.#broker) throw new Error('mqtt persistence: setup() has not run');
    return this.#broker.id;
  }
}

async function* noPackets(): AsyncGenerator<Packet> {}

export function createPgPersistence(database: Database, opts: PgPersistenceOptions = {}): PgPersistence {
  return new PgPersistence(database, opts);
}
