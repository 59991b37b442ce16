import { DomainError } from '../../domain/errors.ts';
import { amqpPassword, parseAmqpUsername, type AmqpLogin } from '../../domain/amqp/login.ts';
import type { Metrics } from '../../metrics.ts';
import type { ServiceDeps } from '../deps.ts';
import { constantTimeEqual } from '../secrets.ts';
import type { AccessKeyCredential, AccessKeyResolver } from './credentials.ts';
import { createDeliveryStore } from './deliveries.ts';
import { GroupDispatcher, type ConsumerHandle, type Outcome } from './dispatcher.ts';
import type { ConsumerGroupService } from './groups.ts';

export interface AmqpSession {
  login: AmqpLogin;
  credential: AccessKeyCredential;
}

/** Why a login was refused (logged at debug; the client only sees SASL outcome `auth`, cloud-api.md §7.2 step 4). */
export class AmqpLoginError extends DomainError {}

export interface ConnectedClient {
  clientId: string;
  accessKeyId: string;
  remoteAddress: string;
  connectedAt: Date;
  inFlight: number;
}

type Kicker = { groupId: string; accessKeyId: string; close: (condition: string, description: string) => void };

/**
 * The AMQP side of server-side subscription without the wire: logins (§7.2), one dispatcher per consumer group with
 * clients on this instance (§7.5), and the reactions to registry changes (revoked keys, deleted or reset groups).
 */
export function createAmqpSubscriptions(
  deps: ServiceDeps & {
    groups: ConsumerGroupService;
    resolveAccessKey: AccessKeyResolver;
    markUsed?: (accessKeyId: string) => void;
    metrics: Metrics;
  },
) {
  const { config, hub, log, groups, metrics } = deps;
  const logger = deps.logger.child({ module: 'amqp' });
  const store = createDeliveryStore(deps.database, deps.instanceId, config.AMQP_ACK_TIMEOUT_MS);
  const dispatchers = new Map<string, GroupDispatcher>();
  const connections = new Set<Kicker>();
  /** Connections per group on this instance (logins counted from the SASL outcome until the connection ends). */
  const perGroup = new Map<string, number>();
  const maxAgeMs = Math.min(config.AMQP_BACKLOG_MAX_AGE_H * 3_600_000, config.EVENT_RETENTION_DAYS * 86_400_000);

  const dispatcherOf = (groupId: string): GroupDispatcher => {
    let d = dispatchers.get(groupId);
    if (!d) {
      d = new GroupDispatcher(groupId, {
        store,
        log,
        hub,
        logger,
        loadEntries: (g) => groups.entriesOf(g),
        maxAgeMs,
        stats: {
          delivered: (n) => metrics.amqpDelivered.inc({ group: groupId }, n),
          redelivered: (n) => metrics.amqpRedelivered.inc({ group: groupId }, n),
          rejected: (n) => metrics.amqpRejected.inc({ group: groupId }, n),
          expired: (n) => metrics.amqpExpired.inc({ group: groupId }, n),
        },
      });
      dispatchers.set(groupId, d);
    }
    return d;
  };

  const unsubscribe = hub.subscribe((e) => {
    if (e.type !== 'registry.changed') return;
    if (e.data.entity === 'accessKey' && e.data.what === 'revoked') {
      for (const c of connections)
        if (c.accessKeyId === e.data.accessKeyId) c.close('amqp:unauthorized-access', 'the AccessKey was revoked');
    }
    if (e.data.entity !== 'consumerGroup') return;
    const groupId = String(e.data.groupId ?? '');
    if (e.data.what === 'deleted') {
      for (const c of connections)
        if (c.groupId === groupId) c.close('amqp:not-found', 'the consumer group was deleted');
      const d = dispatchers.get(groupId);
      dispatchers.delete(groupId);
      void d?.close().catch(() => undefined);
    } else if (e.data.what === 'reset') dispatchers.get(groupId)?.refresh('reset');
    else if (e.data.what === 'relation') for (const d of dispatchers.values()) d.refresh('relations');
  });

  // Ack timeouts and rows released by other instances are found by polling (§7.5); settled rows are pruned now and then.
  const tick = setInterval(
    () => {
      for (const d of dispatchers.values()) d.refresh('tick');
    },
    Math.max(100, Math.min(1000, Math.floor(config.AMQP_ACK_TIMEOUT_MS / 2))),
  );
  tick.unref();
  const pruner = setInterval(
    () => void store.prune().catch((err: unknown) => logger.warn({ err }, 'amqp prune failed')),
    60_000,
  );
  pruner.unref();
  const gauges = setInterval(() => {
    for (const [groupId, d] of dispatchers) {
      if (d.size === 0) continue;
      void groups
        .getGroup(null, groupId)
        .then((g) => (g ? groups.backlog(g) : 0))
        .then((n) => metrics.amqpBacklog.set({ group: groupId }, n))
        .catch(() => undefined);
    }
  }, 15_000);
  gauges.unref();

  return {
    /** SASL PLAIN (§7.2): the Alibaba username form and its HMAC password; throws AmqpLoginError when refused. */
    async authenticate(username: string, password: string): Promise<AmqpSession> {
      const parsed = parseAmqpUsername(username);
      if (!parsed.ok) throw new AmqpLoginError('AMQP_BAD_USERNAME', parsed.error);
      const login = parsed.value;
      if (
        config.AMQP_MAX_CLOCK_SKEW_MS > 0 &&
        Math.abs(Date.now() - Number(login.timestamp)) > config.AMQP_MAX_CLOCK_SKEW_MS
      ) {
        throw new AmqpLoginError('AMQP_STALE_TIMESTAMP', 'the login timestamp is outside AMQP_MAX_CLOCK_SKEW_MS');
      }
      const credential = await deps.resolveAccessKey(login.authId);
      if (!credential) throw new AmqpLoginError('AMQP_UNKNOWN_ACCESS_KEY', 'unknown or revoked AccessKey');
      if (
        !constantTimeEqual(amqpPassword(login.signMethod, credential.secret, login.authId, login.timestamp), password)
      ) {
        throw new AmqpLoginError('AMQP_BAD_SIGNATURE', 'the password is not the signature of authId and timestamp');
      }
      if (!(await groups.getGroup(null, login.consumerGroupId)))
        throw new AmqpLoginError('AMQP_UNKNOWN_GROUP', 'unknown consumerGroupId');
      if ((perGroup.get(login.consumerGroupId) ?? 0) >= config.AMQP_MAX_CONNECTIONS_PER_GROUP)
        throw new AmqpLoginError('AMQP_GROUP_FULL', 'the consumer group is full');
      deps.markUsed?.(credential.accessKeyId);
      return { login, credential };
    },

    /** A logged-in connection: counted against its group and closed when its key is revoked or its group deleted. */
    connected(session: AmqpSession, close: Kicker['close']): () => void {
      const groupId = session.login.consumerGroupId;
      const k: Kicker = { groupId, accessKeyId: session.credential.accessKeyId, close };
      connections.add(k);
      perGroup.set(groupId, (perGroup.get(groupId) ?? 0) + 1);
      metrics.amqpConnections.inc({ group: groupId });
      return () => {
        if (!connections.delete(k)) return;
        perGroup.set(groupId, (perGroup.get(groupId) ?? 1) - 1);
        metrics.amqpConnections.dec({ group: groupId });
      };
    },

    attach(groupId: string, handle: ConsumerHandle): void {
      dispatcherOf(groupId).add(handle);
    },
    detach(groupId: string, handle: ConsumerHandle): void {
      dispatchers.get(groupId)?.remove(handle);
    },
    outcome(groupId: string, handle: ConsumerHandle, position: number, attempt: number, outcome: Outcome): void {
      dispatchers.get(groupId)?.outcome(handle, position, attempt, outcome);
    },
    /** The client gave credit. */
    sendable(groupId: string): void {
      dispatchers.get(groupId)?.kick();
    },

    /** Clients of a group on this instance (§8 `ConsumerGroup.clients`). */
    clients(groupId: string): ConnectedClient[] {
      return (dispatchers.get(groupId)?.handles() ?? []).map(({ handle: h, inFlight }) => ({
        clientId: h.clientId,
        accessKeyId: h.accessKeyId,
        remoteAddress: h.remoteAddress,
        connectedAt: h.connectedAt,
        inFlight,
      }));
    },

    async stop(): Promise<void> {
      clearInterval(tick);
      clearInterval(pruner);
      clearInterval(gauges);
      unsubscribe();
      await Promise.all(
        [...dispatchers.values()].map((d) =>
          d.close().catch((err: unknown) => logger.warn({ err }, 'amqp dispatcher close failed')),
        ),
      );
    },
  };
}

export type AmqpSubscriptions = ReturnType<typeof createAmqpSubscriptions>;
