/**
 * Shared steps for the denial-of-service suites: the platform runs in a child process (a blocked event loop there
 * cannot stop the test process from noticing), with one device logged in whose replies show that the broker still
 * answers while hostile requests arrive.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, inject } from 'vitest';
import { alinkLogin } from '../helpers/devices.ts';
import { childGql, seedDataDir, startChildPlatform, type ChildPlatform } from '../helpers/child-platform.ts';
import { postAndReply } from '../helpers/thing-posts.ts';

export interface Probe {
  child: ChildPlatform;
  productKey: string;
  device: MqttClient;
  gql(
    query: string,
    variables?: Record<string, unknown>,
    token?: string | null,
  ): Promise<{ status: number; body: any }>;
  /** /healthz answered, a GraphQL query answered and a device post replied to (each resolves when it happened). */
  responsive(): Promise<void>;
  close(): Promise<void>;
}

let seq = 0;

export async function startProbe(env: Record<string, string> = {}): Promise<Probe> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'thingql-sec-'));
  await seedDataDir(dataDir, inject('pgliteTemplate'));
  const adminToken = `admin-${randomBytes(12).toString('hex')}`;
  // Under a loaded machine the child's start (tsx compiling the sources) can take a while: within beforeAll's 60 s.
  const child = await startChildPlatform({ DATA_DIR: dataDir, ADMIN_TOKEN: adminToken, ...env }, 50_000);
  try {
    const p = await childGql(child, `mutation { createProduct(input: { name: "Probe" }) { product { productKey } } }`);
    const productKey = p.createProduct.product.productKey as string;
    const r = await childGql(
      child,
      `mutation($pk: String!) { registerDevice(input: { productKey: $pk, deviceName: "probe-1" }) { deviceSecret } }`,
      { pk: productKey },
    );
    const creds = { productKey, deviceName: 'probe-1', deviceSecret: r.registerDevice.deviceSecret as string };
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${child.mqttPort}`, {
      ...alinkLogin(creds),
      reconnectPeriod: 0,
      connectTimeout: 5000,
      keepalive: 60,
    });
    await device.subscribeAsync(`/sys/${productKey}/probe-1/thing/event/property/post_reply`);
    const gql: Probe['gql'] = async (query, variables, token) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const tk = token === undefined ? adminToken : token;
      if (tk) headers.authorization = `Bearer ${tk}`;
      const res = await fetch(`${child.httpUrl}/graphql`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      let body: any = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body };
    };
    return {
      child,
      productKey,
      device,
      gql,
      async responsive() {
        const health = fetch(`${child.httpUrl}/healthz`).then((r) => {
          if (r.status !== 200) throw new Error(`healthz answered ${r.status}`);
        });
        const query = gql('{ products(first: 1) { edges { node { productKey } } } }').then((r) => {
          if (r.body?.data?.products == null) throw new Error(`query failed: ${JSON.stringify(r.body)}`);
        });
        const reply = postAndReply(
          device,
          `/sys/${productKey}/probe-1/thing/event/property/post`,
          { id: String(++seq), version: '1.0', params: {}, method: 'thing.event.property.post' },
          { timeoutMs: 20_000 },
        );
        await Promise.all([health, query, reply]);
      },
      async close() {
        await device.endAsync(true).catch(() => undefined);
        await child.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * A probe started in the suite's beforeAll (closed in its afterAll) and the token of a VIEWER key on it: what a
 * low-role caller can reach. Read `probe` and `viewer` inside tests, once beforeAll has run.
 */
export function useProbeWithViewer(): { readonly probe: Probe; readonly viewer: string } {
  let probe: Probe | undefined;
  let viewer: string | undefined;
  beforeAll(async () => {
    probe = await startProbe();
    const k = await probe.gql(`mutation { createApiKey(input: { name: "viewer", role: VIEWER }) { token } }`);
    viewer = k.body.data.createApiKey.token as string;
  });
  afterAll(async () => {
    await probe?.close();
  });
  return {
    get probe() {
      if (!probe) throw new Error('useProbeWithViewer: probe read before beforeAll started it');
      return probe;
    },
    get viewer() {
      if (viewer === undefined) throw new Error('useProbeWithViewer: viewer read before beforeAll made it');
      return viewer;
    },
  };
}
