/**
 * README.md "A first session" is pasted as it is (its shell block run by bash against a running platform), the
 * Link SDK lamp (examples/first-session/lamp.cjs) exits with the reply, and says so when the broker is not ThingQL.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Aedes } from 'aedes';
import { buildSchema, parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

function run(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The ```sh block of the README's "A first session" section, minus the line where the reader pastes the token. */
function firstSessionScript(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A first session'));
  const block = /```sh\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf('\n## ', 5)))![1]!;
  expect(block).toContain('export THINGQL_TOKEN=paste-the-admin-token-here');
  return block.replace(/^export THINGQL_TOKEN=.*$/m, '');
}

describe('the README first session', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform('pglite');
  });
  afterAll(() => t?.close());

  it('runs as pasted: product, device, a Link SDK post answered 200, the state and the last hour', async () => {
    const r = await run('bash', ['-e', '-c', firstSessionScript()], {
      THINGQL_TOKEN: t.adminToken,
      PORT: String(t.platform.httpPort),
      MQTT_PORT: String(t.platform.mqttPort),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`connected to mqtt://localhost:${t.platform.mqttPort} as lamp-001`);
    expect(r.stdout).toContain('Brightness 42 posted: reply code 200');
    const productKey = /productKey: (\S+)/.exec(r.stdout)![1]!;
    const state = await t.gql(
      `query($pk: String!) { device(productKey: $pk, deviceName: "lamp-001") { properties { identifier value } } }`,
      { pk: productKey },
    );
    expect(state.data.device.properties).toEqual([{ identifier: 'Brightness', value: 42 }]);
    // The series query printed a bucket with the post in it (dates relative to now).
    expect(r.stdout).toMatch(/"devicePropertySeries": \[\s*\{[^}]*"count": 1/);
  }, 90_000);

  it('every operation of session.graphql is valid against the schema', () => {
    const schema = buildSchema(readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8'));
    const doc = parse(readFileSync(path.join(ROOT, 'examples/first-session/session.graphql'), 'utf8'));
    expect(validate(schema, doc).map((e) => e.message)).toEqual([]);
  });
});

describe('lamp.cjs against a broker that is not ThingQL', () => {
  it('exits 1 and says the broker is probably not ThingQL', async () => {
    const broker = await Aedes.createBroker(); // accepts any login, never answers an Alink post
    const server = net.createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const r = await run(process.execPath, ['examples/first-session/lamp.cjs', '42'], {
        PRODUCT_KEY: 'a1Lamp',
        DEVICE_NAME: 'lamp-001',
        DEVICE_SECRET: 'not-a-secret',
        MQTT_PORT: String((server.address() as net.AddressInfo).port),
        REPLY_TIMEOUT_MS: '1000',
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('is ThingQL listening there? Another MQTT broker (such as Mosquitto)');
      expect(r.stderr).toContain('MQTT_PORT');
    } finally {
      server.close();
      await new Promise<void>((r) => broker.close(() => r()));
    }
  }, 30_000);
});
