import { DomainError } from '../domain/errors.ts';
import {
  findApiKey,
  findApiKeyByTokenHash,
  insertApiKey,
  listApiKeys,
  revokeApiKey,
  type ApiKeyRow,
} from '../db/repositories/api-keys.ts';
import { insertStateIfAbsent, readState } from '../db/repositories/platform-state.ts';
import { requireRole, type ApiRole, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { keyReads, newKeyFields, revokeVisibleKey } from './key-scope.ts';
import { constantTimeEqual, newApiToken, sha256Hex } from './secrets.ts';

export interface ApiKeyRecord {
  id: number;
  name: string;
  role: ApiRole;
  productKeys: string[] | null;
  tokenPrefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export const ADMIN_HASH_KEY = 'admin_token_sha256';

const toRecord = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  name: r.name,
  role: r.role as ApiRole,
  productKeys: r.productKeys,
  tokenPrefix: r.tokenPrefix,
  createdAt: r.createdAt,
  revokedAt: r.revokedAt,
});

const ADMIN: Principal = { kind: 'admin', keyId: null, role: 'ADMIN', productKeys: null };

export function createApiKeyService(deps: ServiceDeps) {
  const { database, log, config, logger } = deps;
  const db = database.db;
  let adminHash: string | null = config.ADMIN_TOKEN ? sha256Hex(config.ADMIN_TOKEN) : null;
  /** token hash -> principal; a revoked key is removed on its `registry.changed` event (from any instance). */
  const cache = new Map<string, Principal | null>();
  /** Bumped on every key change: a lookup that started before a revocation must not cache what it read. */
  let generation = 0;

  const reloadAdminHash = async () => {
    try {
      adminHash = (await readState<{ hash: string }>(db, ADMIN_HASH_KEY))?.hash ?? null;
    } catch (err) {
      logger.error({ err }, 'could not reload the admin token hash');
    }
  };

  deps.hub.on('registry.changed', (e) => {
    if (e.data.entity === 'apiKey') {
      generation++;
      cache.clear();
      // `thingql admin-token --reset` (another process): the old admin token stops working here too.
      if (e.data.what === 'adminReset' && !config.ADMIN_TOKEN) void reloadAdminHash();
    }
  });

  return {
    /**
     * With ADMIN_TOKEN unset, the first start generates one, stores only its hash and returns it to be printed
     * once. Several instances starting together agree on one through the insert-if-absent.
     */
    async ensureAdminToken(): Promise<string | null> {
      if (adminHash) return null;
      const token = newApiToken();
      const inserted = await insertStateIfAbsent(db, ADMIN_HASH_KEY, { hash: sha256Hex(token) });
      adminHash = (await readState<{ hash: string }>(db, ADMIN_HASH_KEY))!.hash;
      return inserted ? token : null;
    },

    /** Bearer token -> principal, or null when unknown or revoked. Compared by hash, in constant time for the admin. */
    async authenticate(token: string): Promise<Principal | null> {
      const hash = sha256Hex(token);
      if (adminHash && constantTimeEqual(hash, adminHash)) return ADMIN;
      if (cache.has(hash)) return cache.get(hash)!;
      const startedAt = generation;
      // The lookup is by the SHA-256 of a 256-bit token: an index probe on the hash leaks nothing useful about the token.
      const r = await findApiKeyByTokenHash(db, hash);
      const principal: Principal | null =
        r && !r.revokedAt ? { kind: 'apiKey', keyId: r.id, role: r.role as ApiRole, productKeys: r.productKeys } : null;
      if (generation !== startedAt) return principal; // a key changed meanwhile: answer, but let the next call re-read
      if (cache.size > 10_000) cache.clear();
      cache.set(hash, principal);
      return principal;
    },

    async create(p: Principal, input: { name: string; role: ApiRole; productKeys?: readonly string[] | null }) {
      const { name, productKeys } = await newKeyFields(db, p, input);
      const token = newApiToken();
      const row = await insertApiKey(db, {
        name,
        role: input.role,
        productKeys,
        tokenHash: sha256Hex(token),
        tokenPrefix: token.slice(0, 7),
      });
      logger.info({ apiKeyId: row.id, role: input.role }, 'api key created');
      return { apiKey: toRecord(row), token };
    },

    async revoke(p: Principal, id: number): Promise<ApiKeyRecord> {
      requireRole(p, 'ADMIN');
      return log.transaction(async (tx, emit) => {
        const row = await revokeVisibleKey(
          p,
          id,
          (keyId) => findApiKey(tx, keyId),
          (keyId) => revokeApiKey(tx, keyId),
          (keyId) => new DomainError('API_KEY_NOT_FOUND', `API key ${keyId} does not exist`, ['input', 'id']),
        );
        emit({ type: 'registry.changed', data: { entity: 'apiKey', what: 'revoked', id } });
        return toRecord(row);
      });
    },

    ...keyReads(db, listApiKeys, findApiKey, toRecord),
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
