import { randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { insertStateIfAbsent, readState } from '../db/repositories/platform-state.ts';
import type { Logger } from '../logger.ts';

const SECRET_KEY_STATE = 'secret_key';

/**
 * The key that encrypts device and product secrets. `SECRET_KEY` wins; without it a key is generated once and kept
 * in the database so every instance agrees. That is fine for the embedded database (the key then lives with the data
 * anyway), but a shared server should get SECRET_KEY so that a database dump alone does not reveal device secrets.
 */
export async function loadSecretKey(config: Config, database: Database, logger: Logger): Promise<Buffer> {
  if (config.SECRET_KEY) return Buffer.from(config.SECRET_KEY, 'base64');
  await insertStateIfAbsent(database.db, SECRET_KEY_STATE, { key: randomBytes(32).toString('base64') });
  const stored = await readState<{ key: string }>(database.db, SECRET_KEY_STATE);
  if (database.kind === 'postgres') {
    logger.warn(
      'SECRET_KEY is not set: device secrets are encrypted with a key stored in the same database; set SECRET_KEY (32 bytes, base64) in production',
    );
  }
  return Buffer.from(stored!.key, 'base64');
}

const CLUSTER_ID_STATE = 'cluster_id';

/** Names this deployment (one database) on shared infrastructure such as a Redis used by several clusters. */
export async function loadClusterId(database: Database): Promise<string> {
  await insertStateIfAbsent(database.db, CLUSTER_ID_STATE, { id: randomBytes(8).toString('hex') });
  return (await readState<{ id: string }>(database.db, CLUSTER_ID_STATE))!.id;
}
