import { describe, expect, it } from 'vitest';
import { autoSubscriptions, isAutoSubscription } from '../../../src/broker/auto-subscriptions.ts';
import { canSubscribe } from '../../../src/domain/alink/acl.ts';

describe('platform-side subscriptions granted without an ACL decision', () => {
  const device = { productKey: 'a1B2c3D4e5F', deviceName: 'lamp-01' };

  it('are exactly what the ACL allows the device with no topic categories (so skipping the decision changes nothing)', () => {
    const filters = autoSubscriptions(device.productKey, device.deviceName);
    expect(filters).toHaveLength(7);
    for (const f of filters) {
      expect(isAutoSubscription(device.productKey, device.deviceName, f)).toBe(true);
      expect(canSubscribe(device, f, [])).toBe(true);
    }
  });

  it.each([
    '/sys/a1B2c3D4e5F/lamp-01/#', // the device's own wider filter is decided by the ACL as usual
    '/sys/a1B2c3D4e5F/lamp-02/+/#', // another device's
    '/ota/device/upgrade/a1B2c3D4e5F/lamp-02',
    '/ext/error/a1B2c3D4e5F/+',
    '/broadcast/a1B2c3D4e5F/#',
  ])('%s is not one of them', (filter) => {
    expect(isAutoSubscription(device.productKey, device.deviceName, filter)).toBe(false);
  });
});
