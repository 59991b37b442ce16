import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/config.ts';
import { createTargetGuard, pinnedLookup } from '../../src/services/rules/destinations.ts';
import { connectDevice, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { createTopic, deadLetters, redrive } from '../e2e/rules-support.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Finding 9: WEBHOOK and AMQP actions reached loopback, link-local (169.254.169.254) and private addresses, errors
 * told open ports from closed ones, and redriveDeadLetters held the request for every delivery. Here private
 * targets are allowed only within 127.0.0.2/32 (RULE_PRIVATE_TARGETS), so 127.0.0.1 (`localhost`) stands for every
 * refused address while a receiver on 127.0.0.2 stays reachable.
 */
interface Receiver {
  url: string;
  requests: { path: string; headers: http.IncomingHttpHeaders; body: string }[];
  respond: (path: string) => number | 'hang';
  close(): Promise<void>;
}

async function receiver(host: string): Promise<Receiver> {
  const requests: Receiver['requests'] = [];
  const r: Partial<Receiver> = { requests, respond: () => 200 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '/', headers: req.headers, body });
      const status = r.respond!(req.url ?? '/');
      if (status !== 'hang') res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(r, {
    url: `http://${host}:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  }) as Receiver;
}

describe('SSRF through rule actions', () => {
  let t: TestPlatform;
  let pk: string;
  let dev: DeviceCreds;
  let inside: Receiver; // 127.0.0.1: refused
  let allowed: Receiver; // 127.0.0.2: in RULE_PRIVATE_TARGETS
  beforeAll(async () => {
    t = await startTestPlatform('pglite', {
      RULE_ALLOW_PRIVATE_TARGETS: true,
      RULE_PRIVATE_TARGETS: '127.0.0.2/32',
      RULE_RETRY_BASE_MS: 20,
      RULE_RETRY_MAX_MS: 2000,
    });
    const p = await productWithDevices(t, 1);
    pk = p.productKey;
    dev = p.devices[0]!;
    await createTopic(t, pk, 'data', 'PUB');
    inside = await receiver('127.0.0.1');
    allowed = await receiver('127.0.0.2');
  });
  afterAll(async () => {
    await inside?.close();
    await allowed?.close();
    await t?.close();
  });

  async function rule(
    name: string,
    actions: unknown[],
  ): Promise<{ id?: string; userErrors: { code: string; message: string }[] }> {
    const r = await t.gql(
      `mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } userErrors { code message } } }`,
      {
        i: { name, sql: `SELECT seq FROM "/${pk}/${dev.deviceName}/user/data"`, actions },
      },
    );
    const id = r.data.createRule.rule?.id;
    if (id) await t.gql(`mutation($i: StartRuleInput!) { startRule(input: $i) { rule { id } } }`, { i: { id } });
    return { id, userErrors: r.data.createRule.userErrors };
  }
  const stop = (id: string) =>
    t.gql(`mutation($i: DeleteRuleInput!) { deleteRule(input: $i) { userErrors { code } } }`, { i: { id } });
  async function publish(seq: number) {
    const c = await connectDevice(t, 'tcp', dev);
    await c.publishAsync(`/${pk}/${dev.deviceName}/user/data`, JSON.stringify({ seq }), { qos: 1 });
    await c.endAsync();
  }

  it('refuses address literals of loopback, link-local and private ranges when the rule is saved', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://127.0.0.1:8080/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://10.0.0.1/',
      'http://0.0.0.0/',
    ]) {
      const r = await rule('literal', [{ type: 'WEBHOOK', configuration: { url } }]);
      expect(
        r.userErrors.map((e) => e.code),
        url,
      ).toEqual(['INVALID_ACTION']);
    }
    const amqp = await rule('amqp-literal', [
      { type: 'AMQP', configuration: { url: 'amqp://guest:guest@127.0.0.1:5672', routingKey: 'k' } },
    ]);
    expect(amqp.userErrors.map((e) => e.code)).toEqual(['INVALID_ACTION']);
  });

  it('checks host names after resolution at delivery: refused at once, with one text for open and closed ports', async () => {
    const open = inside.url.replace('127.0.0.1', 'localhost');
    const id1 = (await rule('open-port', [{ type: 'WEBHOOK', configuration: { url: `${open}/hook` } }])).id!;
    const id2 = (await rule('closed-port', [{ type: 'WEBHOOK', configuration: { url: 'http://localhost:1/hook' } }]))
      .id!;
    await publish(1);
    const [a] = await waitFor(() => deadLetters(t, id1), {
      until: (d) => d.length >= 1,
      message: 'a dead letter',
      timeout: 15_000,
    });
    const [b] = await waitFor(() => deadLetters(t, id2), {
      until: (d) => d.length >= 1,
      message: 'a dead letter',
      timeout: 15_000,
    });
    expect(inside.requests).toEqual([]);
    expect(a!.attempts).toBe(1); // permanent: no retries
    expect(b!.attempts).toBe(1);
    expect(a!.error).toMatch(/destination not allowed/);
    expect(a!.error.replace(/localhost:\d+/, 'HOST')).toBe(b!.error.replace(/localhost:\d+/, 'HOST'));
    await stop(id1);
    await stop(id2);
  });

  it('delivers to a private address that RULE_PRIVATE_TARGETS lists', async () => {
    const id = (await rule('listed', [{ type: 'WEBHOOK', configuration: { url: `${allowed.url}/listed` } }])).id!;
    await publish(2);
    await waitFor(() => allowed.requests.filter((r) => r.path === '/listed'), {
      until: (r) => r.length >= 1,
      message: 'a delivery',
      timeout: 15_000,
    });
    await stop(id);
  });

  it('redriveDeadLetters returns at once and re-delivers in the background', async () => {
    allowed.respond = (path) => (path === '/redrive' ? 400 : 200);
    const id = (
      await rule('redrive', [{ type: 'WEBHOOK', configuration: { url: `${allowed.url}/redrive`, timeoutMs: 60_000 } }])
    ).id!;
    await publish(3);
    await waitFor(() => deadLetters(t, id), { until: (d) => d.length >= 1, message: 'a dead letter', timeout: 15_000 });
    // The endpoint now never answers: a redrive that waited for it would hold this request for a minute.
    allowed.respond = (path) => (path === '/redrive' ? 'hang' : 200);
    const before = allowed.requests.length;
    expect(await redrive(t, id)).toEqual({ redriven: 1, failed: 0, userErrors: [] });
    await waitFor(() => allowed.requests.length, {
      until: (n) => n > before,
      message: 'the re-delivery',
      timeout: 15_000,
    });
    await stop(id);
  });

  it('pins the connection to the address that was checked (DNS rebinding cannot swap it)', async () => {
    // Whatever the name resolves to later, the socket goes to the pinned address.
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get(
          {
            host: 'rebinding.invalid',
            port: Number(new URL(allowed.url).port),
            path: '/pinned',
            lookup: pinnedLookup({ address: '127.0.0.2', family: 4 }),
            agent: false,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
        .on('error', reject);
    });
    expect(status).toBe(200);
    expect(allowed.requests.at(-1)?.headers.host).toContain('rebinding.invalid');
  });

  it('refuses every non-public range by default', () => {
    expect(makeConfig().RULE_ALLOW_PRIVATE_TARGETS).toBe(false);
    const guard = createTargetGuard({ allowPrivate: false, privateRanges: [] });
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '64:ff9b::a00:1',
    ]) {
      expect(guard.addressAllowed(a), a).toBe(false);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) expect(guard.addressAllowed(a), a).toBe(true);
    const open = createTargetGuard({ allowPrivate: true, privateRanges: [] });
    expect(open.addressAllowed('127.0.0.1')).toBe(true);
  });
});
