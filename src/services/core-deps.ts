import type { GroupCommitter } from '../events/committer.ts';
import type { CommandTracker } from './command-replies.ts';
import type { ServiceDeps } from './deps.ts';
import type { MessageIds } from './message-ids.ts';
import type { DevicePublisher } from './ports.ts';
import type { ProductCache } from './product-cache.ts';

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
