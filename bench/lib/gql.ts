/**
 * GraphQL over HTTP/1.1 keep-alive (a pool, so a latency sample never includes a TCP handshake), plus provisioning
 * through the public API: a product with a thing model and registered devices with their secrets.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';

export interface GqlClient {
  (query: string, variables?: Record<string, unknown>): Promise<any>;
  close(): void;
}

export function gqlClient(port: number, token: string, maxSockets = 64): GqlClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const call = (query: string, variables: Record<string, unknown> = {}): Promise<any> => {
    const body = JSON.stringify({ query, variables });
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/graphql',
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${token}`,
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              const r = JSON.parse(Buffer.concat(chunks).toString()) as { data?: any; errors?: unknown };
              if (r.errors) reject(new Error(JSON.stringify(r.errors)));
              else resolve(r.data);
            } catch (e) {
              reject(e as Error);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
  return Object.assign(call, { close: () => agent.destroy() });
}

export interface DeviceCreds {
  productKey: string;
  deviceName: string;
  deviceSecret: string;
}

/** The smart lamp of the test fixtures (LightSwitch, Brightness, ColorTemperature, ...). */
export function smartLampTsl(): unknown {
  return JSON.parse(readFileSync(new URL('../../test/fixtures/smart-lamp.json', import.meta.url), 'utf8'));
}

/** One product (with `tsl`) and `count` devices named `${prefix}000000...`, registered 1,000 at a time. */
export async function provision(
  gql: GqlClient,
  opts: { name: string; tsl?: unknown; count: number; prefix?: string },
): Promise<{ productKey: string; devices: DeviceCreds[] }> {
  const p = await gql(
    `mutation($i: CreateProductInput!) { createProduct(input: $i) { product { productKey } userErrors { code message } } }`,
    {
      i: { name: opts.name, ...(opts.tsl ? { tsl: opts.tsl } : {}) },
    },
  );
  if (p.createProduct.userErrors.length) throw new Error(JSON.stringify(p.createProduct.userErrors));
  const productKey = p.createProduct.product.productKey as string;
  const devices: DeviceCreds[] = [];
  const prefix = opts.prefix ?? 'bench-';
  for (let from = 0; from < opts.count; from += 1000) {
    const names = Array.from(
      { length: Math.min(1000, opts.count - from) },
      (_, k) => `${prefix}${String(from + k).padStart(6, '0')}`,
    );
    const r = await gql(
      `mutation($i: RegisterDevicesInput!) { registerDevices(input: $i) { devices { device { deviceName } deviceSecret } userErrors { code message } } }`,
      { i: { productKey, deviceNames: names } },
    );
    if (r.registerDevices.userErrors.length) throw new Error(JSON.stringify(r.registerDevices.userErrors));
    for (const d of r.registerDevices.devices)
      devices.push({ productKey, deviceName: d.device.deviceName, deviceSecret: d.deviceSecret });
  }
  return { productKey, devices };
}
