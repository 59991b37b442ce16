import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startPlatform, type Platform } from '../../src/server.ts';
import { alinkLogin, productWithDevices, sleep } from '../helpers/devices.ts';
import type { TestPlatform } from '../helpers/platform.ts';

const lampTsl = JSON.parse(readFileSync(new URL('../fixtures/smart-lamp.json', import.meta.url), 'utf8'));

/** A platform on an embedded database kept in a directory, so that it can be stopped and started again. */
async function start(dir: string, ports: { http: number; mqtt: number }): Promise<TestPlatform> {
  const adminToken = 'persistent-session-admin-token';
  const config = makeConfig({ PORT: ports.http, MQTT_PORT: ports.mqtt, HOST: '127.0.0.1', DATA_DIR: dir, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'silent' });
  const platform: Platform = await startPlatform(config, { logger: createLogger('silent') });
  const graphqlUrl = `http://127.0.0.1:${platform.httpPort}/graphql`;
  return {
    platform,
    kind: 'pglite',
    httpUrl: `http://127.0.0.1:${platform.httpPort}`,
    graphqlUrl,
    wsUrl: graphqlUrl.replace('http', 'ws'),
    adminToken,
    async gql(query, variables) {
      const res = await fetch(graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body: JSON.stringify({ query, variables }) });
      const body = (await res.json()) as any;
      return { status: res.status, data: body.data, ...(body.errors ? { errors: body.errors } : {}) };
    },
    close: () => platform.close(),
  };
}

describe('persistent sessions across a restart', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'thingql-session-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('delivers QoS 1 commands sent while a clean:false device was offline, after the platform restarted', async () => {
    let t = await start(dir, { http: 0, mqtt: 0 });
    const { productKey: pk, devices } = await productWithDevices(t, 1, { tsl: lampTsl });
    const dev = devices[0]!;
    const login = alinkLogin(dev, { clientId: `${pk}&${dev.deviceName}` });
    const opts = { ...login, clientId: login.clientId, clean: false, reconnectPeriod: 0 };
    // First connection: creates the session and its automatic subscriptions (D19), then goes away.
    const first = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.platform.mqttPort}`, opts);
    await sleep(200);
    await first.endAsync();
    await sleep(200);
    const set = await t.gql(`mutation($i: SetDevicePropertyInput!) { setDeviceProperty(input: $i) { messageId userErrors { code } } }`, { i: { productKey: pk, deviceName: dev.deviceName, items: { Brightness: 77 } } });
    expect(set.data.setDeviceProperty.userErrors).toEqual([]);
    const messageId = set.data.setDeviceProperty.messageId;
    await t.close();

    t = await start(dir, { http: 0, mqtt: 0 });
    const received: { topic: string; body: any }[] = [];
    const again = mqtt.connect(`mqtt://127.0.0.1:${t.platform.mqttPort}`, opts);
    again.on('message', (topic, payload) => received.push({ topic, body: JSON.parse(payload.toString()) }));
    for (let i = 0; i < 50 && received.length === 0; i++) await sleep(100);
    expect(received).toEqual([
      { topic: `/sys/${pk}/${dev.deviceName}/thing/service/property/set`, body: expect.objectContaining({ id: messageId, params: { Brightness: 77 }, method: 'thing.service.property.set' }) },
    ]);
    await again.endAsync();
    await t.close();
  });
});
