import type { Metrics } from '../metrics.ts';
import { createAccessKeyService } from './access-keys.ts';
import { createAmqpServices } from './amqp/index.ts';
import { createApiKeyService } from './api-keys.ts';
import { createCloudApiReads } from './cloud-api.ts';
import { createCommandService } from './commands.ts';
import type { CoreServiceDeps } from './core-deps.ts';
import { createTagsDesiredService } from './device-tags-desired.ts';
import { createDeviceShadowService } from './device-shadow.ts';
import { createDeviceService } from './devices.ts';
import { createHistoryService } from './history.ts';
import { createOtaService, type OtaOptions } from './ota/index.ts';
import { createProductService } from './products.ts';
import { createActionRunner } from './rules/actions.ts';
import { createTargetGuard } from './rules/destinations.ts';
import { createConsumerStore } from './rules/consumer.ts';
import { createRuleEngine } from './rules/engine.ts';
import { createRuleService } from './rules/rules.ts';
import { createTopicRouteService } from './rules/topic-routes.ts';
import { createStreamService } from './streams.ts';
import { createThingCommandService } from './thing-commands.ts';
import { createTopicService } from './topic-categories.ts';
import { createSubDeviceGatewayService } from './sub-registration.ts';

export function createServices(deps: CoreServiceDeps & { metrics: Metrics; ota?: OtaOptions }) {
  const consumers = createConsumerStore(deps.database, deps.instanceId);
  const targets = createTargetGuard({
    allowPrivate: deps.config.RULE_ALLOW_PRIVATE_TARGETS,
    privateRanges: deps.config.RULE_PRIVATE_TARGETS,
  });
  const actions = createActionRunner({
    publisher: deps.publisher,
    products: deps.productCache,
    logger: deps.logger,
    targets,
  });
  const ruleEngine = createRuleEngine({ ...deps, consumers, actions });
  const ota = createOtaService({ ...deps, ...deps.ota });
  const accessKeys = createAccessKeyService(deps);
  const amqp = createAmqpServices({
    ...deps,
    resolveAccessKey: (id) => accessKeys.resolveAccessKey(id),
    markUsed: (id) => accessKeys.markUsed(id),
  });
  return {
    products: createProductService(deps),
    topics: createTopicService(deps),
    subDeviceGateways: createSubDeviceGatewayService(deps),
    devices: createDeviceService(deps),
    apiKeys: createApiKeyService(deps),
    accessKeys,
    consumerGroups: amqp.groups,
    cloudApi: createCloudApiReads(deps),
    streams: createStreamService(deps),
    history: createHistoryService(deps),
    commands: createCommandService(deps),
    thingCommands: createThingCommandService(deps),
    tagsDesired: createTagsDesiredService(deps),
    shadow: createDeviceShadowService(deps),
    ota: ota.service,
    rules: createRuleService({ ...deps, redrive: (dl, rule) => ruleEngine.redrive(dl, rule) }),
    topicRoutes: createTopicRouteService({ ...deps, products: deps.productCache, consumers }),
    /** Runtime parts the composition root starts and stops. */
    runtime: { ruleEngine, actions, ota, amqp: amqp.subscriptions },
  };
}

export type Services = ReturnType<typeof createServices>;
