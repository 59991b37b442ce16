import { createApiKeyService } from './api-keys.ts';
import { createCommandService, type CommandDeps } from './commands.ts';
import { createDeviceService } from './devices.ts';
import { createHistoryService } from './history.ts';
import { createProductService } from './products.ts';
import { createStreamService } from './streams.ts';
import { createThingCommandService } from './thing-commands.ts';
import { createTopicService } from './topics.ts';

export function createServices(deps: CommandDeps) {
  return {
    products: createProductService(deps),
    topics: createTopicService(deps),
    devices: createDeviceService(deps),
    apiKeys: createApiKeyService(deps),
    streams: createStreamService(deps),
    history: createHistoryService(deps),
    commands: createCommandService(deps),
    thingCommands: createThingCommandService(deps),
  };
}

export type Services = ReturnType<typeof createServices>;
