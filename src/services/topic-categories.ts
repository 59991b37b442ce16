import { registryChanged } from '../events/catalog.ts';
import { DomainError } from '../domain/errors.ts';
import { assertProductVisible, canSeeProduct, requireRole, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { findProduct } from '../db/repositories/products.ts';
import { countTopics, deleteTopic, findTopicById, insertTopicIfAbsent, listTopics } from '../db/repositories/topics.ts';
import type { TopicOperation, TopicRecord } from '../db/records.ts';

/** alink-protocol.md D8: every new product gets these topic categories. */
export const DEFAULT_TOPICS: { shortName: string; operation: TopicOperation; description: string }[] = [
  { shortName: 'update', operation: 'PUB', description: 'Device reports data' },
  { shortName: 'update/error', operation: 'PUB', description: 'Device reports errors' },
  { shortName: 'get', operation: 'SUB', description: 'Device receives commands' },
];

/** alink-protocol.md §7: 50 custom topic categories per product. */
export const MAX_TOPICS_PER_PRODUCT = 50;

/**
 * alink-protocol.md §2.1: levels of letters, digits and underscore, no empty level; `+` and `#` (last level only)
 * only in categories devices subscribe to. The full topic `/${pk}/${dn}/user/${short}` may have at most 7 separators
 * and 128 characters with the longest device name (32).
 */
export function checkShortName(productKey: string, shortName: string, operation: TopicOperation): void {
  const field = ['input', 'topicShortName'];
  const levels = shortName.split('/');
  const fail = (why: string): never => {
    throw new DomainError('INVALID_NAME', `topicShortName "${shortName}": ${why}`, field);
  };
  if (shortName.length === 0) fail('must not be empty');
  if (levels.length > 4) fail('at most 4 levels (a topic has at most 7 separators)');
  if (`/${productKey}/`.length + 32 + '/user/'.length + shortName.length > 128)
    fail('the full topic would exceed 128 characters');
  levels.forEach((level, i) => {
    if (level === '+' || level === '#') {
      if (operation === 'PUB') fail('wildcards are allowed only in SUB or ALL categories');
      if (level === '#' && i !== levels.length - 1) fail('# may only be the last level');
      return;
    }
    if (!/^[A-Za-z0-9_]+$/.test(level)) fail(`level ${i + 1} must be letters, digits or underscore`);
  });
}

export function createTopicService(deps: ServiceDeps) {
  const { database, log } = deps;
  const db = database.db;
  const changed = (productKey: string, what: string, shortName: string) =>
    registryChanged('topic', what, { productKey, shortName }, { productKey });

  return {
    async create(
      p: Principal,
      input: { productKey: string; topicShortName: string; operation: TopicOperation; description?: string | null },
    ) {
      requireRole(p, 'OPERATOR');
      assertProductVisible(p, input.productKey);
      checkShortName(input.productKey, input.topicShortName, input.operation);
      if (input.description != null && [...input.description].length > 100) {
        throw new DomainError('INVALID_NAME', 'description must be at most 100 characters', ['input', 'description']);
      }
      return log.transaction(async (tx, emit) => {
        if (!(await findProduct(tx, input.productKey))) {
          throw new DomainError('PRODUCT_NOT_FOUND', `product ${input.productKey} does not exist`, [
            'input',
            'productKey',
          ]);
        }
        if ((await countTopics(tx, input.productKey)) >= MAX_TOPICS_PER_PRODUCT) {
          throw new DomainError(
            'TOPIC_LIMIT_EXCEEDED',
            `a product has at most ${MAX_TOPICS_PER_PRODUCT} topic categories`,
            ['input', 'productKey'],
          );
        }
        const topic = await insertTopicIfAbsent(tx, {
          productKey: input.productKey,
          shortName: input.topicShortName,
          operation: input.operation,
          description: input.description ?? null,
        });
        if (!topic) {
          throw new DomainError('TOPIC_ALREADY_EXISTS', `topic category user/${input.topicShortName} already exists`, [
            'input',
            'topicShortName',
          ]);
        }
        emit(changed(input.productKey, 'created', input.topicShortName));
        return topic;
      });
    },

    async delete(p: Principal, productKey: string, shortName: string): Promise<TopicRecord> {
      requireRole(p, 'OPERATOR');
      assertProductVisible(p, productKey);
      return log.transaction(async (tx, emit) => {
        const topic = await deleteTopic(tx, productKey, shortName);
        if (!topic) {
          if (!(await findProduct(tx, productKey)))
            throw new DomainError('PRODUCT_NOT_FOUND', `product ${productKey} does not exist`, ['input', 'productKey']);
          throw new DomainError('TOPIC_NOT_FOUND', `topic category user/${shortName} does not exist`, [
            'input',
            'topicShortName',
          ]);
        }
        emit(changed(productKey, 'deleted', shortName));
        return topic;
      });
    },

    async list(p: Principal, productKey: string): Promise<TopicRecord[]> {
      if (!canSeeProduct(p, productKey)) return [];
      return listTopics(db, productKey);
    },

    async get(p: Principal, id: number): Promise<TopicRecord | null> {
      if (!Number.isSafeInteger(id)) return null; // a global id of this type but not a row id: no such node
      const topic = await findTopicById(db, id);
      return topic && canSeeProduct(p, topic.productKey) ? topic : null;
    },
  };
}

export type TopicService = ReturnType<typeof createTopicService>;
