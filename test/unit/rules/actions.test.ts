import { describe, expect, it } from 'vitest';
import { checkActionConfiguration, fill, fillBody, redact, safeUrl } from '../../../src/services/rules/actions.ts';

/** The pure parts of rule actions: placeholders, configuration checks, and what error texts may show of a URL. */

const source = { productKey: 'a1B2c3', deviceName: 'dev-1', topic: '/a1B2c3/dev-1/user/update' };

describe('placeholders', () => {
  it('fills ${productKey}, ${deviceName} and ${topic} from the source message and other names from the SELECT output', () => {
    expect(fill('/${productKey}/${deviceName}/user/get', source, {})).toBe('/a1B2c3/dev-1/user/get');
    expect(
      fill('${topic} ${t} ${nested.v} ${obj} ${missing}', source, { t: 39.5, nested: { v: 'x' }, obj: { a: 1 } }),
    ).toBe('/a1B2c3/dev-1/user/update 39.5 x {"a":1} ');
  });

  it('keeps a JSON body template valid JSON whatever the values hold', () => {
    const note = 'he said "hi"\\ and\nleft';
    const body = fillBody('{"msgtype":"text","text":{"content":"${dn}: ${note}"},"n":${n}}', source, {
      dn: 'dev-1',
      note,
      n: 3,
    });
    expect(JSON.parse(body)).toEqual({ msgtype: 'text', text: { content: `dev-1: ${note}` }, n: 3 });
  });

  it('leaves escaped quotes of the template itself alone', () => {
    expect(JSON.parse(fillBody('{"a":"say \\"${w}\\""}', source, { w: 'x"y' }))).toEqual({ a: 'say "x"y"' });
  });

  it('fills a non-JSON body template as plain text', () => {
    expect(fillBody('alert: ${t} "C"', source, { t: 40 })).toBe('alert: 40 "C"');
  });
});

describe('action configuration checks', () => {
  it.each([
    [{ type: 'REPUBLISH', configuration: { topic: '/${productKey}/${deviceName}/user/get' } }, []],
    [
      { type: 'REPUBLISH', configuration: { topic: '/sys/${productKey}/${deviceName}/thing/service/property/set' } },
      [],
    ],
    [
      {
        type: 'WEBHOOK',
        configuration: { url: 'https://example.test/hook', headers: { 'x-a': 'b' }, bodyTemplate: '{}' },
      },
      [],
    ],
    [{ type: 'AMQP', configuration: { url: 'amqp://u:p@localhost:5672', routingKey: 'q' } }, []],
  ] as const)('accepts %j', (a, issues) => {
    expect(checkActionConfiguration({ ...a, errorAction: false } as never)).toEqual(issues);
  });

  it.each([
    [
      { type: 'REPUBLISH', configuration: { topic: '/sys/${productKey}/${deviceName}/thing/event/property/post' } },
      'republish targets',
    ],
    [{ type: 'REPUBLISH', configuration: {} }, 'topic'],
    [{ type: 'WEBHOOK', configuration: { url: 'ftp://example.test/x' } }, 'url'],
    [{ type: 'WEBHOOK', configuration: { url: 'https://example.test', timeoutMs: 5 } }, 'timeoutMs'],
    [{ type: 'AMQP', configuration: { url: 'http://x', routingKey: 'q' } }, 'amqp://'],
    [{ type: 'AMQP', configuration: { url: 'amqp://x' } }, 'routingKey'],
  ] as const)('refuses %j', (a, text) => {
    const issues = checkActionConfiguration({ ...a, errorAction: false } as never);
    expect(issues.join('\n')).toContain(text);
  });
});

describe('URLs in error texts', () => {
  it('hides the credentials of an AMQP URL', () => {
    expect(redact('amqps://user:s3cret@mq.example.test:5671/vh')).toBe('amqps://***@mq.example.test:5671/vh');
    expect(redact('amqp://mq.example.test')).toBe('amqp://mq.example.test');
  });

  it('hides the query (chat-bot tokens) and credentials of a webhook URL', () => {
    expect(safeUrl('https://oapi.example.test/robot/send?access_token=abc123')).toBe(
      'https://oapi.example.test/robot/send?…',
    );
    expect(safeUrl('http://u:p@127.0.0.1:8080/hook')).toBe('http://127.0.0.1:8080/hook');
    expect(safeUrl('http://127.0.0.1:8080/hook')).toBe('http://127.0.0.1:8080/hook');
  });
});
