import type { Client } from 'graphql-ws';
import { Collected, wsClient } from './graphql-ws.ts';
import { sleep, waitFor } from './wait.ts';
import type { TestPlatform } from './platform.ts';

export interface StatusEvent {
  status: 'ONLINE' | 'OFFLINE';
  deviceName: string;
  connectionEpoch: number;
  reason: string | null;
  clientIp: string | null;
  cursor: string;
}

export const STATUS_SUBSCRIPTION = `subscription($pk: String, $dn: String, $after: String) {
  deviceStatusChanged(productKey: $pk, deviceName: $dn, after: $after) { status deviceName connectionEpoch reason clientIp cursor }
}`;

export const DEVICE_QUERY = `query($pk: String!, $dn: String!) {
  device(productKey: $pk, deviceName: $dn) { state activatedAt lastOnlineAt lastOfflineAt clientIp connectionEpoch }
}`;

/** A graphql-ws `deviceStatusChanged` subscription of one device; `events()` returns what arrived so far. */
export async function watchStatus(
  t: TestPlatform | { wsUrl: string; adminToken: string },
  pk: string,
  dn: string,
  after?: string,
) {
  const ws: Client = wsClient(t.wsUrl, t.adminToken);
  // From now on with nothing lost: resume after the latest committed event (replay, then live), rather than guess
  // when a live-only subscription is registered (graphql-ws has no "subscribed" acknowledgement).
  const from = after ?? ('gql' in t ? ((await t.gql('{ streamCursor }')).data.streamCursor as string) : undefined);
  const c = Collected.subscribe<{ deviceStatusChanged: StatusEvent }>(ws, STATUS_SUBSCRIPTION, {
    pk,
    dn,
    ...(from ? { after: from } : {}),
  });
  // A platform that cannot be asked for the cursor here: give the server a moment to register the live listener.
  if (!from) await sleep(200);
  return {
    events: () => c.items.map((i) => i.deviceStatusChanged),
    async waitFor(n: number, timeoutMs = 10_000): Promise<StatusEvent[]> {
      return (await c.waitFor(n, timeoutMs)).map((i) => i.deviceStatusChanged);
    },
    /** Wait until `pred` holds for the events so far (polling; fails with what was seen). */
    until(pred: (e: StatusEvent[]) => boolean, timeoutMs = 10_000): Promise<StatusEvent[]> {
      return waitFor(
        () => {
          if (c.error) throw new Error(`subscription failed: ${JSON.stringify(c.error)}`);
          return c.items.map((i) => i.deviceStatusChanged);
        },
        { until: pred, timeout: timeoutMs, message: 'the status events' },
      );
    },
    async close() {
      c.unsubscribe();
      await ws.dispose();
    },
  };
}

export const short = (e: StatusEvent) => `${e.status}#${e.connectionEpoch}${e.reason ? `(${e.reason})` : ''}`;

/**
 * Presence invariant (D6, D15): status events of one device strictly alternate ONLINE e / OFFLINE e with the same
 * epoch, and the epochs of successive ONLINE events increase. Returns a description of the first violation, or null.
 */
export function statusSequenceViolation(events: StatusEvent[]): string | null {
  let online: number | null = null;
  let lastOnline = -1;
  for (const [i, e] of events.entries()) {
    if (e.status === 'ONLINE') {
      if (online !== null) return `event ${i}: ONLINE #${e.connectionEpoch} while #${online} was still online`;
      if (e.connectionEpoch <= lastOnline)
        return `event ${i}: ONLINE #${e.connectionEpoch} after ONLINE #${lastOnline}`;
      online = lastOnline = e.connectionEpoch;
    } else {
      if (online === null) return `event ${i}: OFFLINE #${e.connectionEpoch} while already offline`;
      if (e.connectionEpoch !== online)
        return `event ${i}: OFFLINE #${e.connectionEpoch} for a device online with #${online}`;
      online = null;
    }
  }
  return null;
}
