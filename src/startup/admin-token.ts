/**
 * `thingql admin-token --reset`: a new admin token replaces the stored one (the old one stops working). For the
 * embedded database the server must be stopped (DATA_DIR is locked while it runs); with DATABASE_URL running instances
 * pick the new hash up from the event log (the `adminReset` event; at once with Redis fan-out, else with their next event).
 */
import type { Config } from '../config.ts';
import { createDatabase } from '../db/client.ts';
import { writeState } from '../db/repositories/platform-state.ts';
import { EventLog } from '../events/log.ts';
import { ADMIN_HASH_KEY } from '../services/api-keys.ts';
import { newApiToken, sha256Hex } from '../services/secrets.ts';
import { lockDataDir, usesDataDir } from './data-dir.ts';
import { StartupError } from './errors.ts';
import { waitForDatabase } from './database.ts';
import type { Logger } from '../logger.ts';

export async function resetAdminToken(config: Config, logger: Logger): Promise<string> {
  if (config.ADMIN_TOKEN) {
    throw new StartupError(
      'ADMIN_TOKEN_IS_SET',
      'ADMIN_TOKEN',
      'ADMIN_TOKEN is set: the admin token is that setting, no token is stored.',
      'change ADMIN_TOKEN where it is set (16 characters or more) and restart, or unset it and run this command again.',
    );
  }
  const lock = usesDataDir(config) ? lockDataDir(config.DATA_DIR, 'admin-token --reset') : null;
  try {
    const database = await createDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
    try {
      await waitForDatabase(database, { url: config.DATABASE_URL, waitMs: config.DATABASE_WAIT_MS, logger });
      await database.migrate();
      const token = newApiToken();
      const value = { hash: sha256Hex(token) };
      await new EventLog(database).transaction(async (tx, emit) => {
        await writeState(tx, ADMIN_HASH_KEY, value);
        emit({ type: 'registry.changed', data: { entity: 'apiKey', what: 'adminReset' } });
      });
      return token;
    } finally {
      await database.close();
    }
  } finally {
    lock?.release();
  }
}

/** The token block printed outside the log stream (stderr), on the first start and after a reset. */
export function tokenBanner(token: string, first: boolean): string {
  return [
    '',
    first ? '  Admin token (shown once, store it now):' : '  New admin token (the previous one no longer works):',
    '',
    `    ${token}`,
    '',
    '  Use it as "Authorization: Bearer <token>". Lost it? Stop the server and run: npx thingql admin-token --reset',
    '',
    '',
  ].join('\n');
}
