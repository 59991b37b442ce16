/**
 * When is a GraphQL subscription live? graphql-ws and SSE have no "subscribed" acknowledgement, but every live
 * subscription holds one listener on the platform's event hub: waiting for that count replaces a guessed delay.
 */
import type { TestPlatform } from './platform.ts';
import { waitFor } from './wait.ts';

/** Live subscriptions of the platform (event hub listeners). */
export const hubListeners = (t: Pick<TestPlatform, 'platform'>): number =>
  (t.platform.hub as unknown as { listeners: Set<unknown> }).listeners.size;

/** Resolves once `count` subscriptions more than `baseline` are live (take `baseline` before subscribing). */
export function subscriptionsLive(t: Pick<TestPlatform, 'platform'>, baseline: number, count = 1): Promise<number> {
  return waitFor(() => hubListeners(t), {
    until: (n) => n >= baseline + count,
    message: `${count} live subscription(s)`,
  });
}
