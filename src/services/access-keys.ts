import { DomainError } from '../domain/errors.ts';
import {
  findAccessKey,
  findAccessKeyById,
  insertAccessKey,
  listAccessKeys,
  revokeAccessKey,
  touchAccessKey,
  type AccessKeyRow,
} from '../db/repositories/access-keys.ts';
import { requireRole, type ApiRole, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { keyReads, newKeyFields, revokeVisibleKey } from './key-scope.ts';
import { randomAlnum } from './secrets.ts';

/**
 * AccessKey pairs (cloud-api.md §2) for Alibaba's server SDKs: the OpenAPI (§3) and AMQP logins (§7.2) are HMACs
 * keyed by the secret, so it is stored encrypted with the platform key and read back here, never logged.
 */
export interface AccessKeyRecord {
  id: number;
  accessKeyId: string;
  name: string;
  role: ApiRole;
  productKeys: string[] | null;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** An active AccessKey with its decrypted secret: what signature and login checks need. */
export interface ResolvedAccessKey {
  accessKeyId: string;
  secret: string;
  role: ApiRole;
  /** null: every product. */
  productKeys: readonly string[] | null;
  /** The caller as the services see it (role and product scope as API keys). */
  principal: Principal;
}

/** Distinguishes unknown from revoked keys (`InvalidAccessKeyId.NotFound` vs `.Inactive`, cloud-api.md §5.1). */
export type AccessKeyLookup =
  | { status: 'active'; key: ResolvedAccessKey }
  | { status: 'revoked' }
  | { status: 'notFound' };

const ACCESS_KEY_ID = /^TQL[A-Za-z0-9]{21}$/;
export const newAccessKeyId = (): string => `TQL${randomAlnum(21)}`;
export const newAccessKeySecret = (): string => randomAlnum(30);
/** `lastUsedAt` is written at most once a minute per key (cloud-api.md §2). */
const TOUCH_INTERVAL_MS = 60_000;

const toRecord = (r: AccessKeyRow): AccessKeyRecord => ({
  id: r.id,
  accessKeyId: r.accessKeyId,
  name: r.name,
  role: r.role as ApiRole,
  productKeys: r.productKeys,
  createdAt: r.createdAt,
  revokedAt: r.revokedAt,
  lastUsedAt: r.lastUsedAt,
});

const notFound = (accessKeyId: string) =>
  new DomainError('ACCESS_KEY_NOT_FOUND', `AccessKey ${accessKeyId} does not exist`, ['input', 'accessKeyId']);

export function createAccessKeyService(deps: ServiceDeps) {
  const { database, log, logger, secrets } = deps;
  const db = database.db;
  /** AccessKeyId -> lookup; dropped on any `registry.changed` accessKey event (create or revoke, from any instance). */
  const cache = new Map<string, AccessKeyLookup>();
  /** Bumped on every key change: a lookup that started before a revocation must not cache what it read. */
  let generation = 0;
  const touchedAt = new Map<string, number>();

  const invalidate = () => {
    generation++;
    cache.clear();
  };
  deps.hub.subscribe((e) => {
    if (e.type === 'registry.changed' && e.data.entity === 'accessKey') invalidate();
  });

  async function lookupAccessKey(accessKeyId: string): Promise<AccessKeyLookup> {
    if (!ACCESS_KEY_ID.test(accessKeyId)) return { status: 'notFound' };
    const cached = cache.get(accessKeyId);
    if (cached) return cached;
    const startedAt = generation;
    const r = await findAccessKey(db, accessKeyId);
    let result: AccessKeyLookup;
    if (!r) result = { status: 'notFound' };
    else if (r.revokedAt) result = { status: 'revoked' };
    else {
      const role = r.role as ApiRole;
      result = {
        status: 'active',
        key: {
          accessKeyId,
          secret: secrets.decrypt(r.secretEnc),
          role,
          productKeys: r.productKeys,
          principal: { kind: 'accessKey', keyId: null, accessKeyId, role, productKeys: r.productKeys },
        },
      };
    }
    if (generation !== startedAt) return result; // a key changed meanwhile: answer, but let the next call re-read
    if (cache.size > 10_000) cache.clear();
    cache.set(accessKeyId, result);
    return result;
  }

  return {
    lookupAccessKey,

    /** The active key with its decrypted secret, role and scope; null when unknown or revoked. */
    async resolveAccessKey(accessKeyId: string): Promise<ResolvedAccessKey | null> {
      const r = await lookupAccessKey(accessKeyId);
      return r.status === 'active' ? r.key : null;
    },

    /** Records a successful authentication; writes `lastUsedAt` at most once a minute per key, never waits for it. */
    markUsed(accessKeyId: string): void {
      const now = Date.now();
      if (now - (touchedAt.get(accessKeyId) ?? 0) < TOUCH_INTERVAL_MS) return;
      if (touchedAt.size > 10_000) touchedAt.clear();
      touchedAt.set(accessKeyId, now);
      touchAccessKey(db, accessKeyId).then(
        () => undefined,
        (err: unknown) => logger.warn({ err, accessKeyId }, 'could not record AccessKey use'),
      );
    },

    async create(p: Principal, input: { name: string; role: ApiRole; productKeys?: readonly string[] | null }) {
      const { name, productKeys } = await newKeyFields(db, p, input);
      const accessKeySecret = newAccessKeySecret();
      const row = await log.transaction(async (tx, emit) => {
        const inserted = await insertAccessKey(tx, {
          accessKeyId: newAccessKeyId(),
          name,
          role: input.role,
          productKeys,
          secretEnc: secrets.encrypt(accessKeySecret),
        });
        emit({
          type: 'registry.changed',
          data: { entity: 'accessKey', what: 'created', accessKeyId: inserted.accessKeyId },
        });
        return inserted;
      });
      invalidate();
      logger.info({ accessKeyId: row.accessKeyId, role: input.role }, 'access key created');
      return { accessKey: toRecord(row), accessKeySecret };
    },

    /**
     * Later calls fail with `InvalidAccessKeyId.Inactive`. Listeners (AMQP connections) learn of it from the
     * `registry.changed` event `{entity: 'accessKey', what: 'revoked', accessKeyId}` on the hub, from any instance.
     */
    async revoke(p: Principal, accessKeyId: string): Promise<AccessKeyRecord> {
      requireRole(p, 'ADMIN');
      const row = await log.transaction(async (tx, emit) => {
        const updated = await revokeVisibleKey(
          p,
          accessKeyId,
          (id) => findAccessKey(tx, id),
          (id) => revokeAccessKey(tx, id),
          notFound,
        );
        emit({ type: 'registry.changed', data: { entity: 'accessKey', what: 'revoked', accessKeyId } });
        return updated;
      });
      invalidate();
      logger.info({ accessKeyId }, 'access key revoked');
      return toRecord(row);
    },

    ...keyReads(db, listAccessKeys, findAccessKeyById, toRecord),
  };
}

export type AccessKeyService = ReturnType<typeof createAccessKeyService>;
