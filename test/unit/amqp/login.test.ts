import { describe, expect, it } from 'vitest';
import { amqpPassword, parseAmqpUsername } from '../../../src/domain/amqp/login.ts';
import { subscriptionTypeOf, toAmqpMessage } from '../../../src/domain/amqp/messages.ts';

describe('AMQP login (cloud-api.md §7.2)', () => {
  it('computes the documented test vector', () => {
    expect(amqpPassword('hmacsha1', 'testSecret', 'TQLexampleAccessKeyId001', '1573489088171')).toBe(
      'Y9X9FSpCH5pdIIW7N5o9m6KrhDY=',
    );
  });

  it('reads the username in any pair order, with spaces and unknown keys, and a Go-style sign method', () => {
    const r = parseAmqpUsername(
      'client-1| consumerGroupId = DEFAULT_GROUP ,foo=bar,signMethod=Hmacsha1,authId=TQLx,timestamp=1573489088171,authMode=aksign,iotInstanceId=|',
    );
    expect(r).toEqual({
      ok: true,
      value: {
        clientId: 'client-1',
        signMethod: 'hmacsha1',
        timestamp: '1573489088171',
        authId: 'TQLx',
        consumerGroupId: 'DEFAULT_GROUP',
      },
    });
  });

  it.each([
    ['no bars', 'client authMode=aksign'],
    ['another auth mode', 'c|authMode=plain,signMethod=hmacsha1,timestamp=1,authId=a,consumerGroupId=g|'],
    ['unknown sign method', 'c|authMode=aksign,signMethod=sha1,timestamp=1,authId=a,consumerGroupId=g|'],
    ['no group', 'c|authMode=aksign,signMethod=hmacsha1,timestamp=1,authId=a|'],
    ['no client id', '|authMode=aksign,signMethod=hmacsha1,timestamp=1,authId=a,consumerGroupId=g|'],
    [
      'a 65-character client id',
      `${'x'.repeat(65)}|authMode=aksign,signMethod=hmacsha1,timestamp=1,authId=a,consumerGroupId=g|`,
    ],
  ])('refuses a username with %s', (_what, username) => {
    expect(parseAmqpUsername(username).ok).toBe(false);
  });
});

describe('AMQP messages (cloud-api.md §7.3)', () => {
  const at = new Date('2026-01-02T03:04:05.678Z');
  it('sends custom topics raw and TSL posts in their forwarding shape, with the position as messageId', () => {
    const raw = {
      position: 41,
      type: 'device.message',
      productKey: 'pk',
      deviceName: 'dn',
      createdAt: at,
      data: {
        topic: '/pk/dn/user/update',
        payload: Buffer.from([1, 2, 3]).toString('base64'),
        messageId: '9',
        receivedAt: at.getTime(),
      },
    };
    expect(toAmqpMessage(raw)).toEqual({
      messageId: '41',
      topic: '/pk/dn/user/update',
      body: Buffer.from([1, 2, 3]),
      generateTime: at.getTime(),
    });
    expect(subscriptionTypeOf(raw)).toBe('DEVICE_DATA');
    expect(
      subscriptionTypeOf({ type: 'device.message', data: { topic: '/sys/pk/dn/thing/event/property/post' } }),
    ).toBeNull();
    const status = toAmqpMessage({
      position: 42,
      type: 'device.status',
      productKey: 'pk',
      deviceName: 'dn',
      createdAt: at,
      data: { status: 'online', time: at.getTime() },
    })!;
    expect(status.topic).toBe('/as/mqtt/status/pk/dn');
    expect(JSON.parse(status.body.toString())).toMatchObject({ status: 'online', time: '2026-01-02 11:04:05.678' });
  });
});
