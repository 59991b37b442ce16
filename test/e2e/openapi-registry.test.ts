import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { $Iot, createAccessKey, iotClient, type IotClient, type SignatureMode } from '../helpers/alibaba-openapi.ts';
import { deviceState } from '../helpers/commands.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectDevice, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { lampTsl, postAndReply } from '../helpers/thing-posts.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('Alibaba IoT OpenAPI: products, devices, status and thing data with @alicloud/iot20180120', () => {
  const t = usePlatform('pglite');
  let pk: string;
  let devs: DeviceCreds[];
  let online: MqttClient;
  let admin: { accessKeyId: string; accessKeySecret: string };
  let viewer: { accessKeyId: string; accessKeySecret: string };

  beforeAll(async () => {
    ({ productKey: pk, devices: devs } = await productWithDevices(t, 3, { tsl: lampTsl }));
    [admin, viewer] = await Promise.all([createAccessKey(t, 'ADMIN'), createAccessKey(t, 'VIEWER')]);
    online = await connectDevice(t, 'tcp', devs[0]!);
    await deviceState(t, pk, devs[0]!.deviceName, 'ONLINE');
    const sys = `/sys/${pk}/${devs[0]!.deviceName}/thing/event`;
    // Brightness at T0, T0+1000, T0+2000 and T0+3000; one Fault event; live values now.
    for (let k = 0; k < 4; k++) {
      await postAndReply(online, `${sys}/property/post`, {
        id: `p${k}`,
        version: '1.0',
        params: { Brightness: { value: 10 + k, time: T0 + k * 1000 } },
        method: 'thing.event.property.post',
      });
    }
    // Two values of ColorTemperature in the same millisecond (two posts): a page never splits them.
    for (const [id, value] of [
      ['c1', 3000],
      ['c2', 3100],
      ['c3', 3200],
    ] as const) {
      await postAndReply(online, `${sys}/property/post`, {
        id,
        version: '1.0',
        params: { ColorTemperature: { value, time: id === 'c1' ? T0 : T0 + 5000 } },
        method: 'thing.event.property.post',
      });
    }
    await postAndReply(online, `${sys}/Fault/post`, {
      id: 'f1',
      version: '1.0',
      params: { value: { ErrorCode: 7, Detail: 'fan' }, time: T0 + 500 },
      method: 'thing.event.Fault.post',
    });
    await postAndReply(online, `${sys}/property/post`, {
      id: 'live',
      version: '1.0',
      params: { LightSwitch: 1, GeoLocation: { Longitude: 120.1, Latitude: 30.2, Altitude: 5, CoordinateSystem: 1 } },
      method: 'thing.event.property.post',
    });
  });
  afterAll(async () => {
    await online?.endAsync();
  });

  describe.each(['ACS3', 'RPC'] as SignatureMode[])('%s signature', (mode) => {
    let c: IotClient;
    let v: IotClient;
    beforeAll(() => {
      c = iotClient(t, admin, mode);
      v = iotClient(t, viewer, mode);
    });

    it('creates and queries products with the reference types', async () => {
      const created = await c.createProduct(
        new $Iot.CreateProductRequest({
          productName: `Gateway ${mode}`,
          nodeType: 1,
          dataFormat: 1,
          description: 'gw',
          aliyunCommodityCode: 'iothub_senior',
        }),
      );
      expect(created.body).toMatchObject({
        success: true,
        productKey: expect.any(String),
        data: { nodeType: 1, dataFormat: 1, authType: 'secret', id2: false, productSecret: expect.any(String) },
      });
      const q = await c.queryProduct(new $Iot.QueryProductRequest({ productKey: created.body.productKey }));
      expect(q.body.data).toMatchObject({
        productName: `Gateway ${mode}`,
        nodeType: 1,
        deviceCount: 0,
        validateType: 1,
        productStatus: 'RELEASE_STATUS',
        owner: true,
        description: 'gw',
      });
      expect(typeof q.body.data!.gmtCreate).toBe('number');
      expect(
        (await v.queryProduct(new $Iot.QueryProductRequest({ productKey: pk }))).body.data!.productSecret,
      ).toBeUndefined();
      const badNode = await c.createProduct(new $Iot.CreateProductRequest({ productName: 'Bad node', nodeType: 5 }));
      expect(badNode.body).toMatchObject({ success: false, code: 'iot.prod.InvalidNodeType' });
      const badName = await c.createProduct(new $Iot.CreateProductRequest({ productName: 'ab' }));
      expect(badName.body).toMatchObject({ success: false, code: 'iot.prod.InvalidFormattedProductName' });
      const page = await v.queryProductList(new $Iot.QueryProductListRequest({ currentPage: 1, pageSize: 1 }));
      expect(page.body.data).toMatchObject({
        currentPage: 1,
        pageSize: 1,
        list: { productInfo: [expect.objectContaining({ productKey: pk, deviceCount: 3 })] },
      });
      expect(page.body.data!.total).toBeGreaterThanOrEqual(2);
      expect(
        (await v.queryProductList(new $Iot.QueryProductListRequest({ currentPage: 1, pageSize: 500 }))).body,
      ).toMatchObject({ success: false, code: 'iot.common.InvalidPageParams' });
      const tsl = await v.getThingModelTsl(new $Iot.GetThingModelTslRequest({ productKey: pk, simple: true }));
      const doc = JSON.parse(tsl.body.data!.tslStr!);
      expect(doc.properties.map((p: any) => p.identifier)).toContain('Brightness');
      expect(JSON.stringify(doc)).not.toContain('"name"');
    });

    it('registers, reads, lists, disables, enables and deletes devices', async () => {
      const reg = await c.registerDevice(
        new $Iot.RegisterDeviceRequest({ productKey: pk, deviceName: `new-${mode}`, nickname: 'New lamp' }),
      );
      expect(reg.body.data).toMatchObject({
        productKey: pk,
        deviceName: `new-${mode}`,
        nickname: 'New lamp',
        deviceSecret: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
      const iotId = reg.body.data!.iotId!;
      expect(
        (await c.registerDevice(new $Iot.RegisterDeviceRequest({ productKey: pk, deviceName: `new-${mode}` }))).body,
      ).toMatchObject({ success: false, code: 'iot.device.AlreadyExistedDeviceName' });
      expect(
        (await c.registerDevice(new $Iot.RegisterDeviceRequest({ productKey: pk, deviceName: 'x' }))).body,
      ).toMatchObject({ success: false, code: 'iot.device.InvalidFormattedDeviceName' });

      const detail = await c.queryDeviceDetail(new $Iot.QueryDeviceDetailRequest({ iotId }));
      expect(detail.body.data).toMatchObject({
        iotId,
        productName: 'Test product',
        status: 'UNACTIVE',
        nodeType: 0,
        region: 'local',
        deviceSecret: reg.body.data!.deviceSecret,
      });
      expect(detail.body.data!.gmtCreate).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(detail.body.data!.utcOnline).toBeUndefined();
      const onlineDetail = await v.queryDeviceDetail(
        new $Iot.QueryDeviceDetailRequest({ productKey: pk, deviceName: devs[0]!.deviceName }),
      );
      expect(onlineDetail.body.data).toMatchObject({
        status: 'ONLINE',
        ipAddress: expect.any(String),
        utcOnline: expect.any(String),
      });
      const info = await v.queryDeviceInfo(new $Iot.QueryDeviceInfoRequest({ iotId }));
      expect(info.body.data).toMatchObject({ iotId, deviceName: `new-${mode}`, nickname: 'New lamp' });
      expect(info.body.data!.deviceSecret).toBeUndefined();

      const batch = await v.batchQueryDeviceDetail(
        new $Iot.BatchQueryDeviceDetailRequest({
          productKey: pk,
          deviceName: [devs[0]!.deviceName, 'nobody', `new-${mode}`],
        }),
      );
      expect(batch.body.data!.data!.map((d) => [d.deviceName, d.status])).toEqual([
        [devs[0]!.deviceName, 'ONLINE'],
        [`new-${mode}`, 'UNACTIVE'],
      ]);

      const p1 = await v.queryDevice(new $Iot.QueryDeviceRequest({ productKey: pk, pageSize: 2, currentPage: 1 }));
      expect(p1.body).toMatchObject({ success: true, pageSize: 2, page: 1, nextToken: 'p2' });
      expect(p1.body.data!.deviceInfo!.map((d) => d.deviceName)).toEqual([devs[0]!.deviceName, devs[1]!.deviceName]);
      expect(p1.body.data!.deviceInfo![0]).toMatchObject({
        deviceStatus: 'ONLINE',
        deviceType: 'DEVICE',
        deviceId: p1.body.data!.deviceInfo![0]!.iotId,
      });
      const p2 = await v.queryDevice(
        new $Iot.QueryDeviceRequest({ productKey: pk, pageSize: 2, nextToken: p1.body.nextToken }),
      );
      expect(p2.body).toMatchObject({ page: 2 });
      expect(p2.body.data!.deviceInfo![0]!.deviceName).toBe(devs[2]!.deviceName);

      const st = await v.getDeviceStatus(
        new $Iot.GetDeviceStatusRequest({ productKey: pk, deviceName: devs[0]!.deviceName }),
      );
      expect(st.body.data).toMatchObject({ status: 'ONLINE', timestamp: expect.any(Number) });
      const states = await v.batchGetDeviceState(
        new $Iot.BatchGetDeviceStateRequest({
          productKey: pk,
          deviceName: [devs[0]!.deviceName, devs[1]!.deviceName, 'nobody'],
        }),
      );
      expect(states.body.deviceStatusList!.deviceStatus!.map((s) => [s.deviceName, s.status])).toEqual([
        [devs[0]!.deviceName, 'ONLINE'],
        [devs[1]!.deviceName, 'UNACTIVE'],
      ]);
      expect(states.body.deviceStatusList!.deviceStatus![0]).toMatchObject({
        asAddress: expect.any(String),
        lastOnlineTime: expect.any(String),
      });

      expect((await c.disableThing(new $Iot.DisableThingRequest({ iotId }))).body.success).toBe(true);
      expect((await v.getDeviceStatus(new $Iot.GetDeviceStatusRequest({ iotId }))).body.data!.status).toBe('DISABLE');
      expect(
        (await c.enableThing(new $Iot.EnableThingRequest({ productKey: pk, deviceName: `new-${mode}` }))).body.success,
      ).toBe(true);
      expect((await v.getDeviceStatus(new $Iot.GetDeviceStatusRequest({ iotId }))).body.data!.status).toBe('UNACTIVE');
      expect((await v.deleteDevice(new $Iot.DeleteDeviceRequest({ iotId }))).body).toMatchObject({
        success: false,
        code: 'iot.common.RamActionPermissionDeny',
      });
      expect((await c.deleteDevice(new $Iot.DeleteDeviceRequest({ iotId }))).body.success).toBe(true);
      expect((await v.getDeviceStatus(new $Iot.GetDeviceStatusRequest({ iotId }))).body).toMatchObject({
        success: false,
        code: 'iot.device.NotExistedDevice',
      });
      expect(
        (await v.getDeviceStatus(new $Iot.GetDeviceStatusRequest({ productKey: pk, deviceName: `new-${mode}` }))).body,
      ).toMatchObject({ success: false, code: 'iot.device.NotExistedDevice' });
    });

    it('reads property status, property/event/service history with paging, and desired properties', async () => {
      const dn = devs[0]!.deviceName;
      const status = await v.queryDevicePropertyStatus(
        new $Iot.QueryDevicePropertyStatusRequest({ productKey: pk, deviceName: dn }),
      );
      const list = status.body.data!.list!.propertyStatusInfo!;
      expect(list.map((p) => p.identifier)).toEqual(
        (lampTsl.properties as { identifier: string }[]).map((p) => p.identifier),
      );
      expect(list.find((p) => p.identifier === 'Brightness')).toMatchObject({
        value: '13',
        time: String(T0 + 3000),
        dataType: 'int',
        name: 'Brightness',
      });
      expect(JSON.parse(list.find((p) => p.identifier === 'GeoLocation')!.value!)).toEqual({
        Longitude: 120.1,
        Latitude: 30.2,
        Altitude: 5,
        CoordinateSystem: 1,
      });
      expect(list.find((p) => p.identifier === 'WorkingMode')!.value).toBeUndefined();
      expect(list.find((p) => p.identifier === 'WorkingMode')!.time).toBeUndefined();

      const page1 = await v.queryDevicePropertyData(
        new $Iot.QueryDevicePropertyDataRequest({
          productKey: pk,
          deviceName: dn,
          identifier: 'Brightness',
          startTime: T0,
          endTime: T0 + 3000,
          asc: 1,
          pageSize: 3,
        }),
      );
      expect(page1.body.data!.list!.propertyInfo!.map((p) => p.value)).toEqual(['10', '11', '12']);
      expect(page1.body.data).toMatchObject({ nextValid: true, nextTime: T0 + 2001 });
      const page2 = await v.queryDevicePropertyData(
        new $Iot.QueryDevicePropertyDataRequest({
          productKey: pk,
          deviceName: dn,
          identifier: 'Brightness',
          startTime: page1.body.data!.nextTime,
          endTime: T0 + 3000,
          asc: 1,
          pageSize: 3,
        }),
      );
      expect(page2.body.data).toMatchObject({
        list: { propertyInfo: [{ time: String(T0 + 3000), value: '13' }] },
        nextValid: false,
      });
      const desc = await v.queryDevicePropertiesData(
        new $Iot.QueryDevicePropertiesDataRequest({
          productKey: pk,
          deviceName: dn,
          identifier: ['Brightness'],
          startTime: T0,
          endTime: T0 + 3000,
          asc: 0,
          pageSize: 2,
        }),
      );
      expect(desc.body).toMatchObject({ nextValid: true, nextTime: T0 + 1999 });
      expect(
        desc.body.propertyDataInfos!.propertyDataInfo![0]!.list!.propertyInfo!.map((p) => [p.time, p.value]),
      ).toEqual([
        [T0 + 3000, '13'],
        [T0 + 2000, '12'],
      ]);
      const sameMs = await v.queryDevicePropertyData(
        new $Iot.QueryDevicePropertyDataRequest({
          productKey: pk,
          deviceName: dn,
          identifier: 'ColorTemperature',
          startTime: T0,
          endTime: T0 + 9000,
          asc: 1,
          pageSize: 2,
        }),
      );
      expect(sameMs.body.data!.list!.propertyInfo!.map((p) => [p.time, p.value])).toEqual([
        [String(T0), '3000'],
        [String(T0 + 5000), '3100'],
        [String(T0 + 5000), '3200'],
      ]);
      expect(sameMs.body.data!.nextValid).toBe(false);
      const badRange = await v.queryDevicePropertyData(
        new $Iot.QueryDevicePropertyDataRequest({
          productKey: pk,
          deviceName: dn,
          identifier: 'Brightness',
          startTime: T0 + 1,
          endTime: T0,
          asc: 1,
          pageSize: 3,
        }),
      );
      expect(badRange.body).toMatchObject({ success: false, code: 'iot.device.InvalidTimeBucket' });

      const events = await v.queryDeviceEventData(
        new $Iot.QueryDeviceEventDataRequest({
          productKey: pk,
          deviceName: dn,
          identifier: 'Fault',
          eventType: 'error',
          startTime: T0,
          endTime: T0 + 3000,
          asc: 1,
          pageSize: 10,
        }),
      );
      expect(events.body.data!.list!.eventInfo).toEqual([
        {
          identifier: 'Fault',
          name: 'Fault report',
          eventType: 'error',
          outputData: expect.any(String),
          time: String(T0 + 500),
        },
      ]);
      expect(JSON.parse(events.body.data!.list!.eventInfo![0]!.outputData!)).toEqual({ ErrorCode: 7, Detail: 'fan' });

      const set = await c.setDeviceProperty(
        new $Iot.SetDevicePropertyRequest({ productKey: pk, deviceName: dn, items: '{"Brightness":5}' }),
      );
      const services = await v.queryDeviceServiceData(
        new $Iot.QueryDeviceServiceDataRequest({
          productKey: pk,
          deviceName: dn,
          identifier: 'set',
          startTime: Date.now() - 60_000,
          endTime: Date.now() + 60_000,
          asc: 0,
          pageSize: 10,
        }),
      );
      expect(services.body.data!.list!.serviceInfo![0]).toMatchObject({
        identifier: 'set',
        inputData: '{"Brightness":5}',
      });
      expect(set.body.success).toBe(true);

      const query = () =>
        v.queryDeviceDesiredProperty(
          new $Iot.QueryDeviceDesiredPropertyRequest({ productKey: pk, deviceName: dn, identifier: ['DeviceLabel'] }),
        );
      const current = (await query()).body.data!.list!.desiredPropertyInfo![0]?.version ?? 0;
      const d1 = await c.setDeviceDesiredProperty(
        new $Iot.SetDeviceDesiredPropertyRequest({
          productKey: pk,
          deviceName: dn,
          items: `{"DeviceLabel":"desk ${mode}"}`,
          versions: `{"DeviceLabel":${current}}`,
        }),
      );
      expect(JSON.parse(d1.body.data!.versions!)).toEqual({ DeviceLabel: current + 1 });
      const conflict = await c.setDeviceDesiredProperty(
        new $Iot.SetDeviceDesiredPropertyRequest({
          productKey: pk,
          deviceName: dn,
          items: '{"DeviceLabel":"wall"}',
          versions: `{"DeviceLabel":${current}}`,
        }),
      );
      expect(conflict.body).toMatchObject({ success: false, code: 'iot.common.InvalidFormattedParameter' });
      expect((await query()).body.data!.list!.desiredPropertyInfo).toEqual([
        expect.objectContaining({
          identifier: 'DeviceLabel',
          value: `desk ${mode}`,
          dataType: 'text',
          version: current + 1,
          name: 'Label',
        }),
      ]);
    });
  });

  it('DisableThing disconnects the live device', async () => {
    const c = iotClient(t, admin);
    const closed = new Promise<void>((r) => online.once('close', () => r()));
    expect(
      (await c.disableThing(new $Iot.DisableThingRequest({ productKey: pk, deviceName: devs[0]!.deviceName }))).body
        .success,
    ).toBe(true);
    await closed;
    await waitFor(
      async () =>
        (await c.getDeviceStatus(new $Iot.GetDeviceStatusRequest({ productKey: pk, deviceName: devs[0]!.deviceName })))
          .body.data!.status,
      { until: (s) => s === 'DISABLE', message: 'offline' },
    );
  });
});
