import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, makeConfig, parseFlags } from '../../src/config.ts';

/** The issues loadConfig reports, or a failure when it accepts the input. */
function issuesOf(env: Record<string, string>, argv: string[] = []): string[] {
  try {
    loadConfig(env, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error(`expected ${JSON.stringify({ env, argv })} to be refused`);
}

describe('loadConfig', () => {
  it('gives the documented defaults with an empty environment', () => {
    const c = loadConfig({}, []);
    expect(c).toMatchObject({ PORT: 4000, MQTT_PORT: 1883, HOST: '0.0.0.0', DATA_DIR: './data', LOG_LEVEL: 'info' });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.REDIS_URL).toBeUndefined();
    expect(c.ADMIN_TOKEN).toBeUndefined();
  });

  it('reads the environment and lets flags win, in both --flag value and --flag=value forms', () => {
    const c = loadConfig({ PORT: '4100', MQTT_PORT: '1999', DATABASE_URL: 'memory://', LOG_LEVEL: 'warn' }, [
      '--port',
      '4200',
      '--database-url=postgres://u@db:5432/iot',
      '--log-level',
      'debug',
    ]);
    expect(c).toMatchObject({
      PORT: 4200,
      MQTT_PORT: 1999,
      DATABASE_URL: 'postgres://u@db:5432/iot',
      LOG_LEVEL: 'debug',
    });
  });

  it('treats an empty environment variable as unset', () => {
    const c = loadConfig({ PORT: '', DATABASE_URL: '' }, []);
    expect(c.PORT).toBe(4000);
    expect(c.DATABASE_URL).toBeUndefined();
  });

  it('reports an unknown flag, a bad port and a bad DATABASE_URL all at once', () => {
    const issues = issuesOf({ PORT: '99999', DATABASE_URL: 'mysql://localhost/iot' }, ['--prot', '4000']);
    expect(issues).toEqual([
      'unknown argument --prot',
      'unknown argument 4000',
      'PORT: must be at most 65535',
      'DATABASE_URL: must start with postgres://, postgresql:// or memory://',
    ]);
  });

  it('puts every issue in the error message, one per line', () => {
    let message = '';
    try {
      loadConfig({ MQTT_PORT: 'abc', REDIS_URL: 'http://cache', ADMIN_TOKEN: 'short' }, ['--verbose']);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'invalid configuration:',
      '  - unknown argument --verbose',
      '  - MQTT_PORT: must be a whole number (got "abc")',
      '  - REDIS_URL: must start with redis:// or rediss://',
      '  - ADMIN_TOKEN: must be at least 16 characters',
    ]);
  });

  it.each([
    ['blank', ' ', 'PORT: must be a whole number (got " ")'],
    ['hexadecimal', '0x10', 'PORT: must be a whole number (got "0x10")'],
    ['exponent', '1e3', 'PORT: must be a whole number (got "1e3")'],
    ['fractional', '4000.5', 'PORT: must be a whole number (got "4000.5")'],
    ['negative', '-1', 'PORT: must be at least 0'],
    ['too large', '65536', 'PORT: must be at most 65535'],
  ])('refuses a %s port instead of reinterpreting it', (_what, value, issue) => {
    expect(issuesOf({ PORT: value })).toEqual([issue]);
  });

  it('refuses a flag without its value', () => {
    expect(issuesOf({}, ['--port'])).toEqual(['unknown argument --port']);
  });

  it('refuses a bad LOG_LEVEL, a lone TLS certificate and a SECRET_KEY of the wrong size', () => {
    const issues = issuesOf({
      LOG_LEVEL: 'loud',
      MQTT_TLS_CERT: '/etc/cert.pem',
      SECRET_KEY: Buffer.alloc(16).toString('base64'),
    });
    expect(issues).toHaveLength(3);
    expect(issues[0]).toMatch(/^SECRET_KEY: must be 32 bytes/);
    expect(issues[1]).toMatch(/^LOG_LEVEL: /);
    expect(issues[2]).toBe('MQTT_TLS_CERT: MQTT_TLS_CERT and MQTT_TLS_KEY go together');
  });

  it('accepts the database URLs of the contract', () => {
    for (const url of ['memory://', 'postgres://postgres@127.0.0.1:5432/test', 'postgresql://u:p@db/iot']) {
      expect(loadConfig({ DATABASE_URL: url }).DATABASE_URL).toBe(url);
    }
  });
});

describe('parseFlags', () => {
  it('maps kebab-case flags to settings and keeps what it does not know apart', () => {
    expect(parseFlags(['--mqtt-port', '1884', '--data-dir=/var/lib/thingql', 'serve', '--nope=1'])).toEqual({
      values: { MQTT_PORT: '1884', DATA_DIR: '/var/lib/thingql' },
      unknown: ['serve', '--nope=1'],
    });
  });
});

describe('makeConfig', () => {
  it('validates overrides the same way', () => {
    expect(makeConfig({ PORT: 0 }).PORT).toBe(0);
    expect(() => makeConfig({ PORT: 70_000, DATABASE_URL: 'sqlite://x' })).toThrow(ConfigError);
  });
});
