import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alinkLogin, connectDevice, nextMessage, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { connectPacket, rawConnect, remainingLength } from '../helpers/raw-mqtt.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { lampTsl } from '../helpers/tsl-fixtures.ts';

/**
 * Threat: malformed input takes the broker down or starves the devices that behave. Each bad
 * input gets its own error (a closed connection for broken MQTT, a 460-class reply for bad Alink JSON), the process
 * stays up, and a well-behaved device on the same instance keeps getting its replies.
 */
describe('malformed MQTT and Alink input', () => {
  const t = usePlatform('pglite');
  let pk: string;
  let good: DeviceCreds;
  let bad: DeviceCreds;
  let g: MqttClient;
  let seq = 0;
  beforeAll(async () => {
    let devices: DeviceCreds[];
    ({ productKey: pk, devices } = await productWithDevices(t, 2, { tsl: lampTsl }));
    [good, bad] = devices as [DeviceCreds, DeviceCreds];
    g = await connectDevice(t, 'tcp', good);
    await g.subscribeAsync(`/sys/${pk}/${good.deviceName}/thing/event/property/post_reply`);
  });
  afterAll(async () => {
    await g?.endAsync();
  });

  /** The well-behaved device posts a property and gets its 200. */
  const goodDeviceIsServed = async () => {
    const topic = `/sys/${pk}/${good.deviceName}/thing/event/property/post`;
    const id = String(++seq);
    const reply = nextMessage(g, (tp) => tp === `${topic}_reply`);
    await g.publishAsync(
      topic,
      JSON.stringify({ id, params: { Brightness: seq % 100 }, method: 'thing.event.property.post' }),
      { qos: 1 },
    );
    expect(JSON.parse((await reply).payload.toString())).toMatchObject({ id, code: 200 });
  };

  it('closes connections that send garbage or malformed MQTT packets, and serves the others', async () => {
    const login = alinkLogin(bad);
    const cases: [string, Buffer][] = [
      ['random bytes', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 256))],
      [
        'a PUBLISH before CONNECT',
        Buffer.concat([Buffer.from([0x30]), remainingLength(7), Buffer.from([0, 3, 0x61, 0x2f, 0x62, 0x68, 0x69])]),
      ],
      [
        'a CONNECT with a wrong protocol name',
        Buffer.from([0x10, 0x0c, 0, 4, 0x4d, 0x51, 0x58, 0x58, 4, 2, 0, 60, 0, 0]),
      ],
      ['an endless remaining length', Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0xff])],
      [
        'a SUBSCRIBE with reserved flags after login',
        Buffer.concat([connectPacket(login), Buffer.from([0x80, 0x06, 0, 1, 0, 1, 0x23, 0])]),
      ],
      [
        'a PUBLISH whose topic length overruns the packet',
        Buffer.concat([connectPacket(login), Buffer.from([0x30, 0x04, 0xff, 0xff, 0x61, 0x62])]),
      ],
      [
        'a topic that is not UTF-8',
        Buffer.concat([connectPacket(login), Buffer.from([0x30, 0x05, 0, 3, 0xc3, 0x28, 0xff])]),
      ],
    ];
    for (const [, bytes] of cases) {
      for (const transport of ['tcp', 'ws'] as const) {
        const raw = await rawConnect(t, transport);
        raw.write(bytes);
        await raw.closed;
      }
      await goodDeviceIsServed();
    }
  });

  it('answers malformed Alink JSON with an error reply, and serves the others', async () => {
    const c = await connectDevice(t, 'tcp', bad);
    const topic = `/sys/${pk}/${bad.deviceName}/thing/event/property/post`;
    const eventTopic = `/sys/${pk}/${bad.deviceName}/thing/event/Fault/post`;
    await c.subscribeAsync([`${topic}_reply`, `${eventTopic}_reply`]);
    const deep = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
    const payloads: [string, string, Buffer][] = [
      ['truncated', topic, Buffer.from('{"id":"1","params":{"Brightness":')],
      ['not an object', topic, Buffer.from('[1,2,3]')],
      [
        'deeply nested params',
        topic,
        Buffer.from(`{"id":"2","params":{"Brightness":${deep(100_000)}},"method":"thing.event.property.post"}`),
      ],
      [
        'deeply nested event value',
        eventTopic,
        Buffer.from(`{"id":"3","params":{"value":{"ErrorCode":${deep(50_000)}}},"method":"thing.event.Fault.post"}`),
      ],
      [
        'huge numbers',
        topic,
        Buffer.from(
          '{"id":"4","params":{"Brightness":1e400,"ColorTemperature":123456789012345678901234567890},"method":"thing.event.property.post"}',
        ),
      ],
      [
        'NUL characters',
        topic,
        Buffer.from(
          '{"id":"5","params":{"Bright\\u0000ness":1,"DeviceLabel":"a\\u0000b"},"method":"thing.event.property.post"}',
        ),
      ],
      [
        'NUL in an event',
        eventTopic,
        Buffer.from(
          '{"id":"6","params":{"value":{"ErrorCode":1,"Extra\\u0000":"x\\u0000"}},"method":"thing.event.Fault.post"}',
        ),
      ],
      [
        'invalid UTF-8',
        topic,
        Buffer.concat([
          Buffer.from('{"id":"7","params":{"DeviceLabel":"'),
          Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
          Buffer.from('"},"method":"thing.event.property.post"}'),
        ]),
      ],
      ['a huge id', topic, Buffer.from(`{"id":${'9'.repeat(5000)},"params":{},"method":"thing.event.property.post"}`)],
    ];
    for (const [name, tp, body] of payloads) {
      const reply = nextMessage(c, (x) => x === `${tp}_reply`);
      await c.publishAsync(tp, body, { qos: 1 });
      const r = JSON.parse((await reply).payload.toString());
      expect(typeof r.code, name).toBe('number');
      await goodDeviceIsServed();
    }
    // The device that sent all this is still connected and served as well.
    const reply = nextMessage(c, (x) => x === `${topic}_reply`);
    await c.publishAsync(
      topic,
      JSON.stringify({ id: '99', params: { Brightness: 1 }, method: 'thing.event.property.post' }),
      { qos: 1 },
    );
    expect(JSON.parse((await reply).payload.toString())).toMatchObject({ id: '99', code: 200 });
    await c.endAsync();
  });
});
