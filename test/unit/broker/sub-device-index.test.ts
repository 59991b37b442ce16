import type { Client } from 'aedes';
import { describe, expect, it } from 'vitest';
import { attachSession, SessionRegistry, type Session } from '../../../src/broker/sessions.ts';
import type { CachedDevice } from '../../../src/services/device-auth.ts';

const device = (deviceName: string) => ({ id: 1, productKey: 'pk', deviceName }) as unknown as CachedDevice;

function connection(registry: SessionRegistry, deviceName: string): Client {
  const client = {} as Client;
  const s: Session = {
    device: device(deviceName),
    clientIp: null,
    epoch: 1,
    reason: null,
    registration: null,
    ended: false,
    ingestTail: Promise.resolve(),
  };
  attachSession(client, s);
  registry.claim(client);
  return client;
}

describe('SessionRegistry: which connections carry a sub-device', () => {
  it('follows the sub-device maps of gateway connections, and creates none for the others', () => {
    const registry = new SessionRegistry();
    const gw1 = connection(registry, 'gw1');
    const gw2 = connection(registry, 'gw2');
    connection(registry, 'plain');
    const key = 'pk\u0000sub';
    registry.subDevicesOf(gw1).set(key, { device: device('sub'), epoch: 3 });
    registry.subDevicesOf(gw2).set(key, { device: device('sub'), epoch: 4 });
    expect(registry.carrying('pk', 'sub')).toEqual([gw1, gw2]);
    expect(registry.carrying('pk', 'other')).toEqual([]);

    registry.subDevicesOf(gw1).delete(key);
    expect(registry.carrying('pk', 'sub')).toEqual([gw2]);
    registry.subDevicesOf(gw2).clear();
    expect(registry.carrying('pk', 'sub')).toEqual([]);
    expect(registry.subDevicesOf(gw2).size).toBe(0);
  });
});
