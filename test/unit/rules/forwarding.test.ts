import { describe, expect, it } from 'vitest';
import {
  FORWARDED_TYPES,
  sourceOfTopic,
  toForwardingMessage,
  type LogEvent,
} from '../../../src/domain/rules/forwarding.ts';
import { compileRuleSql } from '../../../src/domain/rules/sql.ts';

/**
 * What rules see of each platform event: the reference's forwarding topic and body (alink-protocol.md §5.5: TSL topics
 * without the `/sys` prefix; §6.3-6.7 bodies; §6.13 custom topics carry the device's bytes).
 */

const PK = 'a1B2c3';
const DN = 'dev-1';
const AT = new Date('2023-11-14T22:13:20.123Z');

const event = (type: string, data: Record<string, unknown>, position = 77): LogEvent => ({
  position,
  type,
  productKey: PK,
  deviceName: DN,
  data,
  createdAt: AT,
});

/** The forwarding message of a device publish on `topic` (payload in base64), or null when it is not forwarded. */
const published = (topic: string, payload: Buffer, messageId = '1', receivedAt = 1) =>
  toForwardingMessage(event('device.message', { messageId, topic, payload: payload.toString('base64'), receivedAt }));

describe('forwarding messages', () => {
  it('a property post is forwarded on /pk/dn/thing/event/property/post with items and checkFailedData (§6.4)', () => {
    const data = {
      iotId: 'iot-1',
      requestId: '42',
      productKey: PK,
      deviceName: DN,
      gmtCreate: AT.getTime(),
      items: { Temperature: { value: 39.5, time: 1700000000000 } },
      checkFailedData: {},
    };
    const m = toForwardingMessage(event('thing.property.post', data))!;
    expect(m.topic).toBe(`/${PK}/${DN}/thing/event/property/post`);
    expect(m.json).toEqual(data);
    expect(JSON.parse(m.raw.toString())).toEqual(data);
    expect(m).toMatchObject({ productKey: PK, deviceName: DN, messageId: '77', timestamp: AT.getTime() });
  });

  it('a history post is forwarded on /pk/dn/thing/event/property/history/post (§6.10)', () => {
    const m = toForwardingMessage(event('thing.property.history.post', { items: {} }))!;
    expect(m.topic).toBe(`/${PK}/${DN}/thing/event/property/history/post`);
  });

  it('an event post is forwarded on /pk/dn/thing/event/${identifier}/post with identifier, name, type and value (§6.5)', () => {
    const data = {
      identifier: 'HighTemperature',
      name: 'High temperature',
      type: 'alert',
      iotId: 'iot-1',
      requestId: '7',
      productKey: PK,
      deviceName: DN,
      gmtCreate: 1,
      value: { Temperature: 41 },
      time: 2,
    };
    const m = toForwardingMessage(event('thing.event.post', data))!;
    expect(m.topic).toBe(`/${PK}/${DN}/thing/event/HighTemperature/post`);
    expect(m.json).toEqual(data);
  });

  it('a downlink reply is forwarded on /pk/dn/thing/downlink/reply/message without the raw device payload (§6.7)', () => {
    const body = {
      gmtCreate: 1,
      iotId: 'iot-1',
      productKey: PK,
      deviceName: DN,
      requestId: '1234',
      code: 200,
      message: 'success',
      topic: `/sys/${PK}/${DN}/thing/service/property/set`,
      data: {},
    };
    const m = toForwardingMessage(
      event('thing.downlink.reply', { ...body, payload: Buffer.from('{}').toString('base64') }),
    )!;
    expect(m.topic).toBe(`/${PK}/${DN}/thing/downlink/reply/message`);
    expect(m.json).toEqual(body);
    expect(JSON.parse(m.raw.toString())).toEqual(body);
  });

  it('a lifecycle change is forwarded on /pk/dn/thing/lifecycle (§6.6)', () => {
    const data = { action: 'disable', iotId: 'iot-1', productKey: PK, deviceName: DN, messageCreateTime: 5 };
    const m = toForwardingMessage(event('device.lifecycle', data))!;
    expect(m.topic).toBe(`/${PK}/${DN}/thing/lifecycle`);
    expect(m.json).toEqual(data);
  });

  it('a status change is forwarded on /as/mqtt/status/pk/dn with Beijing-time time/lastTime strings and UTC ISO times (§6.3, D15)', () => {
    const ms = AT.getTime();
    const data = {
      status: 'offline',
      productKey: PK,
      deviceName: DN,
      iotId: 'iot-1',
      time: ms,
      lastTime: ms,
      utcTime: AT.toISOString(),
      utcLastTime: AT.toISOString(),
      clientIp: '127.0.0.1',
      connectionEpoch: 3,
      reason: 'CLIENT_DISCONNECT',
    };
    const m = toForwardingMessage(event('device.status', data))!;
    expect(m.topic).toBe(`/as/mqtt/status/${PK}/${DN}`);
    expect(m.json).toEqual({ ...data, time: '2023-11-15 06:13:20.123', lastTime: '2023-11-15 06:13:20.123' });
  });

  it.each([
    ['thing.topo.lifecycle', { action: 'add' }, `/${PK}/${DN}/thing/topo/lifecycle`],
    ['thing.list.found', { devices: [] }, `/${PK}/${DN}/thing/list/found`],
    ['thing.deviceinfo.update', { value: [] }, `/${PK}/${DN}/thing/deviceinfo/update`],
    ['ota.upgrade', { status: 'SUCCEEDED' }, `/${PK}/${DN}/ota/upgrade`],
    ['ota.progress', { step: 50 }, `/${PK}/${DN}/ota/progress/post`],
    ['ota.version', { moduleVersion: '2.0.0' }, `/${PK}/${DN}/ota/version/post`],
    ['ota.job.status', { packageId: '4', jobId: '9', status: 'COMPLETED' }, `/${PK}/4/9/ota/job/status`],
  ])('a %s event is forwarded on its §6.8-6.12 topic with its body', (type, data, topic) => {
    const m = toForwardingMessage(event(type, data))!;
    expect(FORWARDED_TYPES).toContain(type);
    expect(m.topic).toBe(topic);
    expect(m.json).toEqual(data);
  });

  it('a custom-topic publish is forwarded on its own topic with the device bytes, binary included (§6.13)', () => {
    const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80]);
    const m = published(`/${PK}/${DN}/user/update`, bytes, '9001', 123)!;
    expect(m.topic).toBe(`/${PK}/${DN}/user/update`);
    expect(m.raw.equals(bytes)).toBe(true);
    expect(m.json).toBeNull();
    expect(m).toMatchObject({ messageId: '9001', timestamp: 123, productKey: PK, deviceName: DN });
  });

  it('a custom-topic publish of JSON is readable by path', () => {
    const m = published(`/${PK}/${DN}/user/update`, Buffer.from('{"city":"Hangzhou"}'))!;
    expect(m.json).toEqual({ city: 'Hangzhou' });
  });

  it('binary payloads reach rules through payload() and SELECT *', () => {
    const bytes = Buffer.from([0xca, 0xfe]);
    const m = published(`/${PK}/${DN}/user/raw`, bytes)!;
    const rule = compileRuleSql(`SELECT *, payload('base64') AS b64, topic(4) AS kind FROM "/${PK}/+/user/#"`);
    if (!rule.ok) throw new Error(rule.error.message);
    expect(rule.value.select(m)).toEqual({ payload: 'yv4=', b64: 'yv4=', kind: 'raw' });
  });

  it('/sys/ publishes are not forwarded raw: rules see their parsed TSL shapes instead', () => {
    expect(published(`/sys/${PK}/${DN}/thing/event/property/post`, Buffer.alloc(0))).toBeNull();
  });

  it('events outside the forwarding set are not forwarded', () => {
    expect(FORWARDED_TYPES).not.toContain('registry.changed');
    expect(toForwardingMessage(event('registry.changed', { entity: 'rule' }))).toBeNull();
    expect(toForwardingMessage(event('command.reply', { requestId: '1' }))).toBeNull();
  });
});

describe('sourceOfTopic', () => {
  it.each([
    [`/${PK}/${DN}/user/update`, { productKey: PK, deviceName: DN }],
    [`/${PK}/${DN}/thing/event/property/post`, { productKey: PK, deviceName: DN }],
    [`/as/mqtt/status/${PK}/${DN}`, { productKey: PK, deviceName: DN }],
    ['/', { productKey: null, deviceName: null }],
  ])('reads the device of %s', (topic, expected) => {
    expect(sourceOfTopic(topic)).toEqual(expected);
  });
});
