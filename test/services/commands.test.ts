/**
 * Cloud-to-device commands through the command services: property sets and service calls validated against the
 * product's TSL before anything is sent, RRPC timeout bounds, and what reaches the DevicePublisher port (recorded in
 * memory here; the broker's adapter is exercised by the e2e suites).
 */
import { expect } from 'vitest';
import { failure } from '../helpers/expect-errors.ts';
import { describeEachDb, test } from '../helpers/fixtures.ts';
import { ADMIN, type TestServices } from '../helpers/services.ts';

/** The first 10 service-history rows of a device within a minute of now, oldest first. */
const lastMinuteHistory = (s: TestServices, device: { productKey: string; deviceName: string }) =>
  s.services.history.serviceHistory(
    ADMIN,
    {
      productKey: device.productKey,
      deviceName: device.deviceName,
      from: new Date(Date.now() - 60_000),
      to: new Date(Date.now() + 60_000),
      order: 'ASC',
    },
    { first: 10 },
  );

/** An admin RRPC call with `payload` to a device. */
const rrpcTo = (
  s: TestServices,
  device: { productKey: string; deviceName: string },
  payload: string,
  timeoutMs: number | null,
) =>
  s.services.commands.rrpc(ADMIN, { productKey: device.productKey, deviceName: device.deviceName, payload, timeoutMs });

describeEachDb(
  test,
  'commands on %s',
  () => {
    test('sends a valid property set to the device at QoS 1, recorded as SENT', async ({ services: s, device }) => {
      const online = await s.device(device);
      const { messageId } = await s.services.thingCommands.setDeviceProperty(ADMIN, {
        productKey: device.productKey,
        deviceName: device.deviceName,
        items: { LightSwitch: 1, Brightness: 40 },
      });
      const topic = `/sys/${device.productKey}/${device.deviceName}/thing/service/property/set`;
      const sent = await s.publisher.next(topic);
      expect(sent.qos).toBe(1);
      expect(sent.json).toMatchObject({
        id: messageId,
        method: 'thing.service.property.set',
        params: { LightSwitch: 1, Brightness: 40 },
      });
      // The device's reply completes the command (through the ingest pipeline and the command sinks).
      await online.publish(`${topic}_reply`, { id: messageId, code: 200, data: {} });
      const history = await lastMinuteHistory(s, device);
      expect(history.edges.map((e) => [e.node.messageId, e.node.identifier, e.node.status])).toEqual([
        [messageId, 'set', 'REPLIED'],
      ]);
    });

    test('refuses a property set the thing model does not allow, naming each item, and sends nothing', async ({
      services: s,
      device,
    }) => {
      const before = s.publisher.sent.length;
      const { codes, error } = await failure(() =>
        s.services.thingCommands.setDeviceProperty(ADMIN, {
          productKey: device.productKey,
          deviceName: device.deviceName,
          items: { Brightness: 101, PowerConsumption: 3, NoSuch: 1 },
        }),
      );
      expect(codes.length).toBe(3);
      expect(error.errors.map((e: { field: string[] }) => e.field.at(-1)).sort()).toEqual([
        'Brightness',
        'NoSuch',
        'PowerConsumption',
      ]);
      expect(s.publisher.sent.length).toBe(before);
    });

    test('records a property set to an offline device as OFFLINE, still queued at QoS 1 for a persistent session', async ({
      services: s,
      device,
    }) => {
      const { messageId } = await s.services.thingCommands.setDeviceProperty(ADMIN, {
        productKey: device.productKey,
        deviceName: device.deviceName,
        items: { Brightness: 5 },
      });
      const sent = await s.publisher.next(`/sys/${device.productKey}/${device.deviceName}/thing/service/property/set`);
      expect(sent.json.id).toBe(messageId);
      const history = await lastMinuteHistory(s, device);
      expect(history.edges.map((e) => e.node.status)).toEqual(['OFFLINE']);
    });

    test('validates service arguments and refuses unknown services', async ({ services: s, device }) => {
      const call = (identifier: string, args: unknown) =>
        s.services.thingCommands.invokeThingService(ADMIN, {
          productKey: device.productKey,
          deviceName: device.deviceName,
          identifier,
          args,
        });
      expect((await failure(() => call('NoSuchService', {}))).codes).toEqual(['IDENTIFIER_NOT_FOUND']);
      expect((await failure(() => call('set', { Brightness: 'bright' }))).codes).toEqual(['INVALID_VALUE']);
    });

    test('bounds the RRPC timeout to 1000..8000 ms before anything is sent', async ({ services: s, device }) => {
      const rrpc = (timeoutMs: number | null) => rrpcTo(s, device, 'ping', timeoutMs);
      const before = s.publisher.sent.length;
      for (const bad of [999, 8001, 1500.5])
        expect((await failure(() => rrpc(bad))).codes, `timeoutMs ${bad}`).toEqual(['TIMEOUT_OUT_OF_RANGE']);
      expect(s.publisher.sent.length).toBe(before);
      // In range, to an offline device: answered OFFLINE at once, nothing sent.
      expect(await rrpc(1000)).toMatchObject({ rrpcCode: 'OFFLINE', payloadBase64: null });
      expect(s.publisher.sent.length).toBe(before);
    });

    test('completes an RRPC with the answer of an online device, and times out when it stays silent', async ({
      services: s,
      device,
    }) => {
      const online = await s.device(device);
      const rrpc = (payload: string, timeoutMs: number) => rrpcTo(s, device, payload, timeoutMs);
      const prefix = `/sys/${device.productKey}/${device.deviceName}/rrpc/request/`;
      const answered = rrpc('ping', 8000);
      const req = await s.publisher.next((t) => t.startsWith(prefix));
      expect(req.payload.toString()).toBe('ping');
      await online.publish(
        `/sys/${device.productKey}/${device.deviceName}/rrpc/response/${req.topic.slice(prefix.length)}`,
        'pong',
      );
      const r = await answered;
      expect(r.rrpcCode).toBe('SUCCESS');
      expect(Buffer.from(r.payloadBase64!, 'base64').toString()).toBe('pong');
      expect((await rrpc('nobody answers', 1000)).rrpcCode).toBe('TIMEOUT');
    });
  },
  { warm: ['services'], timeout: 60_000 },
);
