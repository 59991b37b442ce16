import { describe, expect, it } from 'vitest';
import { createApiKey, createProduct, headCursor, registerDevices, sseClient } from '../integration/support.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { useCluster, usePlatform } from '../helpers/use-platform.ts';
import { requireService } from '../helpers/services-env.ts';

/**
 * Finding 7 (API part): subscriptions over Server-Sent Events outlived revokeApiKey (graphql-ws sockets were closed
 * with 4401). Now the stream gets an UNAUTHENTICATED error and completes, on the instance that serves it, whichever
 * instance revoked the key.
 */
const LIFECYCLE = `subscription($pk: String, $after: String) { deviceLifecycle(productKey: $pk, after: $after) { action deviceName } }`;

interface Watched {
  events: any[];
  /** Resolves once the stream has delivered `n` events. */
  received(n: number): Promise<void>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

function watch(t: TestPlatform, token: string, variables: Record<string, unknown>): Watched {
  const events: any[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let ended!: () => void;
  const endedP = new Promise<void>((r) => (ended = r));
  const client = sseClient(t, token);
  const stop = client.subscribe(
    { query: LIFECYCLE, variables },
    {
      next: (v: unknown) => {
        events.push(v);
        for (const w of waiters.filter((x) => events.length >= x.n)) w.resolve();
      },
      complete: () => ended(),
      error: () => ended(),
    },
  );
  return {
    events,
    received: (n) => (events.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    ended: endedP,
    close: () => (stop(), void client.dispose()),
  };
}

async function revokeEndsStream(serving: TestPlatform, revoking: TestPlatform) {
  const pk = (await createProduct(revoking, { name: 'Revoked lamp' })).productKey;
  const key = await createApiKey(revoking, 'VIEWER');
  const w = watch(serving, key.token, { pk, after: await headCursor(serving) });
  try {
    await registerDevices(revoking, pk, ['rev-1']);
    await w.received(1); // the stream is live
    const r = await revoking.gql(
      `mutation($i: RevokeApiKeyInput!) { revokeApiKey(input: $i) { userErrors { code } } }`,
      { i: { id: key.id } },
    );
    expect(r.data.revokeApiKey.userErrors).toEqual([]);
    await w.ended;
    expect(w.events.at(-1).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(w.events[0].data.deviceLifecycle.deviceName).toBe('rev-1');
  } finally {
    w.close();
  }
}

describe('revoking an API key ends its SSE subscriptions', () => {
  const t = usePlatform('pglite');

  it('ends a live SSE stream at once with UNAUTHENTICATED', async () => {
    await revokeEndsStream(t, t);
  });
});

const cluster = requireService('TEST_REDIS_URL', 'TEST_DATABASE_URL');

describe.runIf(cluster)('revoking an API key on one instance ends its SSE subscriptions on another', () => {
  const { a, b } = useCluster();

  it('ends the stream served by B when A revokes the key', async () => {
    await revokeEndsStream(b, a);
  });
});
