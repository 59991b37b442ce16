import type { GroupCommitter } from '../../events/committer.ts';
import { registerCommandSinks } from '../command-replies.ts';
import { registerTagsDesiredSinks } from '../device-tags-desired.ts';
import { createUplinkHandlers, type UplinkHandlerDeps } from './handlers.ts';
import { createSubDeviceSessionHandlers } from './handlers/sub-device-session.ts';
import { registerThingDataSinks } from './sinks.ts';
import type { UplinkHandlers } from './types.ts';

/**
 * The uplink as the platform composes it (docs/uplink-pipeline.md): the batch sinks of the group commit that its
 * handlers' rows go to, and the handler table. server.ts puts the broker in front; the services test tier does not.
 */
export function createUplink(
  deps: Omit<UplinkHandlerDeps, 'subDeviceSession'> & { committer: GroupCommitter },
): UplinkHandlers {
  registerThingDataSinks(deps.committer);
  registerCommandSinks(deps.committer);
  registerTagsDesiredSinks(deps.committer);
  return createUplinkHandlers({
    products: deps.products,
    deviceAuth: deps.deviceAuth,
    gateway: deps.gateway,
    secrets: deps.secrets,
    ota: deps.ota,
    subDeviceSession: createSubDeviceSessionHandlers({ products: deps.products, gateway: deps.gateway }),
  });
}
