import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandHelp, COMMANDS, settingsHelp, USAGE } from '../../src/cli/help.ts';
import { configSchema } from '../../src/config.ts';
import { parseSimulateArgs } from '../../src/sim/cli.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** `thingql ...` from the sources, as `npm run dev` runs it. */
function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', ...args],
      { cwd: ROOT, env: { ...process.env, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('--help of every command', () => {
  it('lists every setting of the zod config with its flag, default and a description', () => {
    const names = Object.keys(configSchema.shape);
    const rows = settingsHelp();
    expect(rows.map((r) => r.name)).toEqual(names);
    for (const r of rows) {
      // A new setting in src/config.ts needs a line in src/cli/settings.ts (or a .describe()).
      expect(r.text, `${r.name} has no description`).not.toBe('');
      expect(r.flag).toBe(`--${r.name.toLowerCase().replace(/_/g, '-')}`);
    }
    expect(rows.find((r) => r.name === 'MQTT_PORT')).toMatchObject({ default: '1883', values: null });
    expect(rows.find((r) => r.name === 'DATABASE_URL')?.default).toBeNull();
    expect(rows.find((r) => r.name === 'LOG_LEVEL')?.values).toContain('debug');
    const serve = commandHelp('serve');
    for (const n of names) expect(serve).toContain(`${n}, --${n.toLowerCase().replace(/_/g, '-')}`);
    expect(commandHelp('admin-token')).toContain('--reset');
    expect(commandHelp('print-schema')).toContain('--check FILE');
    for (const name of Object.keys(COMMANDS)) expect(USAGE).toContain(`  ${name} `);
  });

  it('thingql serve --help, admin-token --help and migrate -h print their help and exit 0; an unknown command exits 2', async () => {
    const [serve, token, migrate, unknown, bare] = await Promise.all([
      cli(['serve', '--help']),
      cli(['admin-token', '--help']),
      cli(['migrate', '-h']),
      cli(['frobnicate']),
      cli(['admin-token']),
    ]);
    expect(serve.code).toBe(0);
    expect(serve.stdout).toMatch(/^usage: thingql serve/);
    expect(serve.stdout).toContain('MQTT_PORT, --mqtt-port  (default 1883)');
    expect(serve.stdout).toContain('DATABASE_WAIT_MS, --database-wait-ms');
    expect(token.code).toBe(0);
    expect(token.stdout).toContain('usage: thingql admin-token --reset');
    expect(migrate.code).toBe(0);
    expect(migrate.stdout).toContain('usage: thingql migrate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain('admin-token');
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('--reset is required');
  });

  it('an invalid setting names it and points at --help', async () => {
    const r = await cli(['serve', '--mqtt-port', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MQTT_PORT: must be a whole number');
    expect(r.stderr).toContain('thingql serve --help');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
  });
});

describe('thingql simulate reads the server settings for its defaults', () => {
  it('MQTT_PORT and PORT', () => {
    expect(parseSimulateArgs(['--product', 'pk'], {})).toMatchObject({
      mqttUrl: 'mqtt://localhost:1883',
      graphqlUrl: 'http://localhost:4000/graphql',
    });
    expect(parseSimulateArgs(['--product', 'pk'], { MQTT_PORT: '1884', PORT: '4100' })).toMatchObject({
      mqttUrl: 'mqtt://localhost:1884',
      graphqlUrl: 'http://localhost:4100/graphql',
    });
    expect(parseSimulateArgs(['--product', 'pk', '--mqtt-url', 'mqtt://h:1'], { MQTT_PORT: '1884' })?.mqttUrl).toBe(
      'mqtt://h:1',
    );
  });
});

describe('docs stay in sync', () => {
  it('docs/operations.md has the settings table generated from the zod config (npm run docs:settings)', async () => {
    const { readFileSync } = await import('node:fs');
    const { withSettingsTable } = await import('../../src/cli/help.ts');
    const doc = readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8');
    expect(doc).toBe(withSettingsTable(doc));
  });

  it('LICENSE is the Apache License 2.0 that package.json names, in full', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.license).toBe('Apache-2.0');
    const license = readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
    expect(license).toContain('Apache License\n                           Version 2.0, January 2004');
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    expect(license.split('\n').length).toBeGreaterThan(190);
  });

  it('docs/protocol.md summarises every decision D1-D24', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(path.join(ROOT, 'docs/protocol.md'), 'utf8');
    for (let i = 1; i <= 24; i++) expect(doc, `D${i}`).toContain(`**D${i} `);
  });
});
