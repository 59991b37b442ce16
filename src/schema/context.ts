import type { Principal } from '../services/access.ts';
import type { Services } from '../services/index.ts';

/** One context for every transport (HTTP, graphql-ws, SSE): architecture.md habit 9. */
export interface GraphQLContext {
  principal: Principal;
  services: Services;
}
