import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, resolveLogFormat } from '../../src/logger.ts';

function capture(format: 'json' | 'pretty'): { log: ReturnType<typeof createLogger>; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  return { log: createLogger('info', format, out), text: () => text };
}

describe('logs', () => {
  it('LOG_FORMAT=auto: human-readable on a terminal, JSON lines otherwise', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });

  it('pretty lines are plain text with the level and message; JSON lines parse; secrets are redacted in both', () => {
    const pretty = capture('pretty');
    pretty.log.info({ port: 4000, token: 'tq_secret' }, 'GraphQL on http://localhost:4000/graphql');
    expect(pretty.text()).toMatch(/INFO.*GraphQL on http:\/\/localhost:4000\/graphql/);
    expect(pretty.text().trimStart().startsWith('{')).toBe(false);
    expect(pretty.text()).not.toContain('tq_secret');

    const json = capture('json');
    json.log.info({ port: 4000, token: 'tq_secret' }, 'GraphQL on http://localhost:4000/graphql');
    expect(JSON.parse(json.text())).toMatchObject({
      level: 30,
      msg: 'GraphQL on http://localhost:4000/graphql',
      port: 4000,
      token: '[redacted]',
    });
  });
});
