import type { Metrics } from '../../metrics.ts';
import type { ServiceDeps } from '../deps.ts';
import type { AccessKeyResolver } from './credentials.ts';
import { createConsumerGroupService } from './groups.ts';
import { createAmqpSubscriptions } from './subscriptions.ts';

/** Server-side subscription (cloud-api.md §7): consumer groups and relations (GraphQL) and the delivery runtime (AMQP). */
export function createAmqpServices(
  deps: ServiceDeps & {
    metrics: Metrics;
    resolveAccessKey: AccessKeyResolver;
    markUsed?: (accessKeyId: string) => void;
  },
) {
  const groups = createConsumerGroupService(deps);
  const subscriptions = createAmqpSubscriptions({ ...deps, groups });
  return { groups, subscriptions };
}

export type AmqpServices = ReturnType<typeof createAmqpServices>;
