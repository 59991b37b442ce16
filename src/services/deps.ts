import type { GroupCommitter } from '../events/committer.ts';
import type { CommandTracker } from './command-replies.ts';
import type { MessageIds } from './message-ids.ts';
import type { DevicePublisher } from './ports.ts';
import type { ProductCache } from './product-cache.ts';
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

/**
 * ServiceDeps plus the shared machinery most services need: the group commit, message ids, the command tracker, the
 * product cache and the port that publishes to devices.
 */
export interface CoreServiceDeps extends ServiceDeps {
  committer: GroupCommitter;
  ids: MessageIds;
  tracker: CommandTracker;
  productCache: ProductCache;
  publisher: DevicePublisher;
}
