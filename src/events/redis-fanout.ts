import { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import type { EventHub } from './hub.ts';
import type { EventLog } from './log.ts';
import type { StoredEvent } from './types.ts';

interface Wire {
  from: string;
  events: (Omit<StoredEvent, 'createdAt'> & { createdAt: number })[];
}

/**
 * Several instances (REDIS_URL): every instance publishes what it commits on one Redis channel per cluster, and
 * offers what the others committed to its hub. The hub orders by position and fills holes from the database, so a
 * lost or late Redis message costs latency, never an event; a periodic head check bounds that latency.
 */
export async function startRedisFanout(deps: {
  url: string;
  clusterId: string;
  instanceId: string;
  log: EventLog;
  hub: EventHub;
  logger: Logger;
  headPollMs?: number;
}) {
  const { hub, log, instanceId } = deps;
  const logger = deps.logger.child({ module: 'redis-fanout' });
  const channel = `thingql:${deps.clusterId}:events`;
  const pub = new Redis(deps.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  const sub = new Redis(deps.url, { lazyConnect: true });
  for (const c of [pub, sub])
    c.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  await pub.connect();
  await sub.connect();
  await sub.subscribe(channel);
  sub.on('message', (_ch: string, text: string) => {
    try {
      const wire = JSON.parse(text) as Wire;
      if (wire.from === instanceId) return;
      hub.offer(wire.events.map((e) => ({ ...e, createdAt: new Date(e.createdAt) })));
    } catch (err) {
      logger.warn({ err }, 'unreadable fan-out message');
    }
  });
  const unsubscribe = log.onCommit((events) => {
    const wire: Wire = { from: instanceId, events: events.map((e) => ({ ...e, createdAt: e.createdAt.getTime() })) };
    pub
      .publish(channel, JSON.stringify(wire))
      .catch((err: unknown) => logger.warn({ err }, 'fan-out publish failed; peers catch up from the database'));
  });
  const poll = setInterval(() => {
    log
      .headPosition()
      .then((head) => hub.announceHead(head))
      .catch(() => undefined);
  }, deps.headPollMs ?? 1000);
  poll.unref();
  return {
    async close(): Promise<void> {
      clearInterval(poll);
      unsubscribe();
      await Promise.all([sub.quit().catch(() => undefined), pub.quit().catch(() => undefined)]);
    },
  };
}
