import { createApiKeyService } from './api-keys.ts';
import type { ServiceDeps } from './deps.ts';
import { createDeviceService } from './devices.ts';
import { createHistoryService } from './history.ts';
import { createProductService } from './products.ts';
import { createStreamService } from './streams.ts';
import { createTopicService } from './topics.ts';

export function createServices(deps: ServiceDeps) {
  return {
    products: createProductService(deps),
    topics: createTopicService(deps),
    devices: createDeviceService(deps),
    apiKeys: createApiKeyService(deps),
    streams: createStreamService(deps),
    history: createHistoryService(deps),
  };
}

export type Services = ReturnType<typeof createServices>;
