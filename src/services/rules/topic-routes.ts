import { setTimeout as delay } from 'node:timers/promises';
import { canPublish, canSubscribe } from '../../domain/alink/acl.ts';
import { isValidTopicName } from '../../domain/alink/topic-filter.ts';
import { parseTopic, validateTopicName } from '../../domain/alink/topics.ts';
import { DomainError, DomainErrors, type UserErrorShape } from '../../domain/errors.ts';
import {
  deleteTopicRoutes,
  insertTopicRoutes,
  listRouteDestinations,
  listTopicRoutes,
} from '../../db/repositories/topic-routes.ts';
import { EventStream } from '../../events/stream.ts';
import { assertProductVisible, canSeeProduct, requireRole, type Principal } from '../access.ts';
import type { ServiceDeps } from '../deps.ts';
import { findDevice } from '../../db/repositories/devices.ts';
import { messagePayload } from '../../events/catalog.ts';
import type { DevicePublisher } from '../ports.ts';
import type { ProductCache } from '../product-cache.ts';
import type { ConsumerStore } from './consumer.ts';

export interface TopicRoute {
  srcTopic: string;
  dstTopics: string[];
}

/** alink-protocol.md §5.1 CreateTopicRouteTable: at most 100 destinations per source. */
export const MAX_DESTINATIONS = 100;
const CONSUMER = 'topic-routes';

/**
 * M2M topic routing: what a device publishes on a source custom topic (PUB) is delivered to the destination topics of
 * other devices (SUB), as the reference's topic route tables. Delivery is an event-log consumer like a rule.
 */
export function createTopicRouteService(
  deps: ServiceDeps & { products: ProductCache; consumers: ConsumerStore; publisher: DevicePublisher },
) {
  const db = deps.database.db;
  let routes: Map<string, string[]> | null = null;
  const logger = deps.logger.child({ module: 'topic-routes' });

  deps.hub.on('registry.changed', (e) => {
    if (e.data.entity === 'topicRoute') routes = null;
  });

  async function table(): Promise<Map<string, string[]>> {
    if (routes) return routes;
    const rows = await listTopicRoutes(db);
    const m = new Map<string, string[]>();
    for (const r of rows) m.set(r.srcTopic, [...(m.get(r.srcTopic) ?? []), r.dstTopic]);
    routes = m;
    return m;
  }

  /** A concrete custom topic of an existing device that the device may `op` (PUB for sources, SUB for destinations). */
  async function checkTopic(
    p: Principal,
    topic: string,
    op: 'PUB' | 'SUB',
    field: string[],
  ): Promise<UserErrorShape | null> {
    const t = parseTopic(topic);
    if (!isValidTopicName(topic) || t.kind !== 'custom')
      return { code: 'TOPIC_NOT_ALLOWED', message: `${topic} is not a device's custom topic (/pk/dn/user/...)`, field };
    const named = validateTopicName(topic);
    if (!named.ok) return { code: 'TOPIC_NOT_ALLOWED', message: `${topic}: ${named.error}`, field };
    if (!canSeeProduct(p, t.productKey))
      return { code: 'PRODUCT_NOT_FOUND', message: `product ${t.productKey} does not exist`, field };
    const info = await deps.products.get(t.productKey);
    if (!info) return { code: 'PRODUCT_NOT_FOUND', message: `product ${t.productKey} does not exist`, field };
    if (!(await findDevice(db, t.productKey, t.deviceName)))
      return { code: 'DEVICE_NOT_FOUND', message: `device ${t.deviceName} does not exist`, field };
    const id = { productKey: t.productKey, deviceName: t.deviceName };
    const allowed = op === 'PUB' ? canPublish(id, topic, info.categories) : canSubscribe(id, topic, info.categories);
    return allowed
      ? null
      : {
          code: 'TOPIC_NOT_ALLOWED',
          message: `${topic}: the device may not ${op === 'PUB' ? 'publish' : 'receive'} it (topic category missing or of the wrong operation)`,
          field,
        };
  }

  async function get(srcTopic: string): Promise<TopicRoute> {
    return { srcTopic, dstTopics: await listRouteDestinations(db, srcTopic) };
  }

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const after = await deps.consumers.acquire(CONSUMER, deps.hub.position);
      if (after == null) {
        // Another instance routes; try again later (stop() does not wait for this pause).
        await delay(5000, undefined, { signal, ref: false }).catch(() => undefined);
        continue;
      }
      // Stopped while the lease was being taken: an abort listener added now would never fire, and the stream
      // would wait for its next event for good (stop() waits for this loop).
      if (signal.aborted) break;
      const stream = new EventStream(deps.hub, deps.log, {
        filter: { types: ['device.message'] },
        after,
        bufferLimit: 10_000,
      });
      signal.addEventListener('abort', () => void stream.return(), { once: true });
      let position = after;
      let last = Date.now();
      try {
        for await (const item of stream) {
          const dsts = (await table()).get(String(item.event.data.topic));
          if (dsts) {
            const payload = messagePayload(item.event.data);
            await Promise.all(dsts.map((d) => deps.publisher.publish(d, payload, 1)));
          }
          position = item.event.position;
          if (dsts || Date.now() - last > 1000) {
            if (!(await deps.consumers.commit(CONSUMER, position))) break;
            last = Date.now();
          }
        }
      } catch (e) {
        logger.warn({ err: e }, 'topic routing interrupted; resuming from its position');
      }
      await deps.consumers.commit(CONSUMER, position).catch(() => undefined);
      await delay(200, undefined, { signal }).catch(() => undefined);
    }
  }

  const ac = new AbortController();
  let running: Promise<void> | null = null;

  return {
    start(): void {
      running = run(ac.signal).catch((e: unknown) => logger.error({ err: e }, 'topic router stopped'));
    },
    async stop(): Promise<void> {
      ac.abort();
      await running;
      await deps.consumers.release(CONSUMER).catch(() => undefined);
    },

    async create(p: Principal, input: { srcTopic: string; dstTopics: readonly string[] }): Promise<TopicRoute> {
      requireRole(p, 'OPERATOR');
      const dst = [...new Set(input.dstTopics)];
      const errors: UserErrorShape[] = [];
      if (dst.length < 1 || dst.length > MAX_DESTINATIONS)
        errors.push({
          code: 'INVALID_INPUT',
          message: `1 to ${MAX_DESTINATIONS} destination topics`,
          field: ['input', 'dstTopics'],
        });
      const srcErr = await checkTopic(p, input.srcTopic, 'PUB', ['input', 'srcTopic']);
      if (srcErr) errors.push(srcErr);
      for (const [i, d] of dst.entries()) {
        if (d === input.srcTopic)
          errors.push({
            code: 'TOPIC_NOT_ALLOWED',
            message: 'a topic cannot route to itself',
            field: ['input', 'dstTopics', String(i)],
          });
        const e = await checkTopic(p, d, 'SUB', ['input', 'dstTopics', String(i)]);
        if (e) errors.push(e);
      }
      if (errors.length) throw new DomainErrors(errors);
      await deps.log.transaction(async (tx, emit) => {
        await insertTopicRoutes(tx, input.srcTopic, dst);
        emit({ type: 'registry.changed', data: { entity: 'topicRoute', what: 'created', srcTopic: input.srcTopic } });
      });
      return get(input.srcTopic);
    },

    async delete(p: Principal, input: { srcTopic: string; dstTopics?: readonly string[] | null }): Promise<TopicRoute> {
      requireRole(p, 'OPERATOR');
      const t = parseTopic(input.srcTopic);
      if (t.kind === 'custom') assertProductVisible(p, t.productKey);
      const removed = await deps.log.transaction(async (tx, emit) => {
        const n = await deleteTopicRoutes(tx, input.srcTopic, input.dstTopics ?? null);
        if (n)
          emit({ type: 'registry.changed', data: { entity: 'topicRoute', what: 'deleted', srcTopic: input.srcTopic } });
        return n;
      });
      if (removed === 0)
        throw new DomainError(
          'ROUTE_NOT_FOUND',
          `no route from ${input.srcTopic}${input.dstTopics ? ' to those topics' : ''}`,
          ['input', 'srcTopic'],
        );
      return get(input.srcTopic);
    },

    async list(p: Principal, srcTopic: string | null): Promise<TopicRoute[]> {
      requireRole(p, 'VIEWER');
      const m = await table();
      return [...m.entries()]
        .filter(([src]) => srcTopic == null || src === srcTopic)
        .filter(([src]) => {
          const t = parseTopic(src);
          return t.kind !== 'custom' || canSeeProduct(p, t.productKey);
        })
        .map(([src, dsts]) => ({ srcTopic: src, dstTopics: [...dsts] }));
    },
  };
}

export type TopicRouteService = ReturnType<typeof createTopicRouteService>;
