import { afterAll, beforeAll, expect, it } from 'vitest';
import { captureBrokers } from '../helpers/aedes-spy.ts';
import { autoSubscribed, command } from '../helpers/commands.ts';
import { connectDevice, type DeviceCreds, productWithDevices } from '../helpers/devices.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { lampTsl } from '../helpers/thing-posts.ts';

/**
 * A sync service's reply is checked against the thing model: what the device answers still comes back (code, output),
 * and what is wrong with it comes back as userErrors beside it (INVALID_OUTPUT, INVALID_REPLY).
 */
const spy = captureBrokers();
let t: TestPlatform;
let pk: string;
let dev: DeviceCreds;
beforeAll(async () => {
  t = await startTestPlatform('pglite');
  const made = await productWithDevices(t, 1, { tsl: lampTsl });
  pk = made.productKey;
  dev = made.devices[0]!;
});
afterAll(async () => {
  spy.restore();
  await t?.close();
});

it('reports a sync output that does not match the thing model, and a reply that is not Alink, as userErrors', async () => {
  const dn = dev.deviceName;
  const c = await connectDevice(t, 'tcp', dev);
  try {
    const answers = ['{"id":"%ID","code":200,"data":{"Done":"maybe"}}', 'not json at all'];
    c.on('message', (topic) => {
      const prefix = `/sys/${pk}/${dn}/rrpc/request/`;
      if (!topic.startsWith(prefix)) return;
      const id = topic.slice(prefix.length);
      c.publish(`/sys/${pk}/${dn}/rrpc/response/${id}`, answers.shift()!.replace('%ID', id));
    });
    await autoSubscribed(() => spy.broker(), pk, dn);
    const call = () =>
      command(t, 'invokeThingService', { productKey: pk, deviceName: dn, identifier: 'Blink', args: { Times: 1 } });

    const wrongType = await call();
    expect(wrongType).toMatchObject({ callType: 'SYNC', rrpcCode: 'SUCCESS', code: 200, output: { Done: 'maybe' } });
    expect(wrongType.userErrors).toEqual([
      expect.objectContaining({ code: 'INVALID_OUTPUT', field: ['output', 'Done'] }),
    ]);

    const notAlink = await call();
    expect(notAlink).toMatchObject({ callType: 'SYNC', rrpcCode: 'SUCCESS', code: null });
    expect(notAlink.userErrors).toEqual([expect.objectContaining({ code: 'INVALID_REPLY', field: ['output'] })]);
  } finally {
    await c.endAsync();
  }
});
