import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { EventHub } from '../events/hub.ts';
import type { EventLog } from '../events/log.ts';
import type { Logger } from '../logger.ts';
import type { SecretBox } from './secrets.ts';

/** What every service factory receives from the composition root (server.ts). */
export interface ServiceDeps {
  config: Config;
  database: Database;
  log: EventLog;
  hub: EventHub;
  logger: Logger;
  secrets: SecretBox;
  /** Identifies this process among several instances (presence, command routing). */
  instanceId: string;
}
