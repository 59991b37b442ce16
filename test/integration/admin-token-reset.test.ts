/**
 * `thingql admin-token --reset` beside a running instance on PostgreSQL (with Redis fan-out): the instance takes the
 * new token from the event log, and the old one stops working without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startPlatform, type Platform } from '../../src/server.ts';
import { resetAdminToken } from '../../src/startup/admin-token.ts';
import { freshPostgresDatabase } from '../helpers/platform.ts';
import { requireService } from '../helpers/services-env.ts';

const enabled = requireService('TEST_DATABASE_URL', 'TEST_REDIS_URL');

describe.runIf(enabled)('admin-token --reset with a running instance (PostgreSQL + Redis)', () => {
  let db: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let platform: Platform;
  const config = () =>
    makeConfig({
      DATABASE_URL: db.url,
      REDIS_URL: process.env.TEST_REDIS_URL,
      HOST: '127.0.0.1',
      PORT: 0,
      MQTT_PORT: 0,
      LOG_LEVEL: 'silent',
    });

  beforeAll(async () => {
    db = await freshPostgresDatabase();
    platform = await startPlatform(config());
  });
  afterAll(async () => {
    await platform?.close();
    await db?.drop();
  });

  const status = async (token: string) =>
    (
      await fetch(`http://127.0.0.1:${platform.httpPort}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ apiKeys { id } }' }),
      })
    ).status;

  it('the old token is refused and the new one accepted once the reset event arrives', async () => {
    const first = platform.generatedAdminToken!;
    expect(first).toMatch(/^tq_/);
    expect(await status(first)).toBe(200);

    const seen = new Promise<void>((resolve) =>
      platform.hub.subscribe((e) => {
        if (e.type === 'registry.changed' && e.data.entity === 'apiKey' && e.data.what === 'adminReset') resolve();
      }),
    );
    const next = await resetAdminToken(config(), createLogger('silent'));
    await seen;
    // The instance re-reads the hash when the event is dispatched (one query): poll until that read has landed.
    await expect.poll(() => status(first)).toBe(401);
    expect(await status(next)).toBe(200);
  });
});
