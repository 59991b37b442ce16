/** Presence logins grouped into one statement per commit (services/presence.ts, events/commit-steps.ts). */
import { expect } from 'vitest';
import { markOnline, type OnlineInput } from '../../src/db/repositories/presence.ts';
import { createLogger } from '../../src/logger.ts';
import type { ServiceDeps } from '../../src/services/deps.ts';
import { createPresenceService } from '../../src/services/presence.ts';
import { describeEachDb, test } from '../helpers/fixtures.ts';
import { ADMIN } from '../helpers/services.ts';

describeEachDb(test, 'presence logins on %s', () => {
  test('marks a commit of logins online as if one by one: epochs, takeovers, refused logins and event order', async ({
    services: s,
    product,
  }) => {
    const presence = createPresenceService(
      { database: s.db.database, instanceId: 'batch-test', logger: createLogger('silent') } as ServiceDeps,
      s.committer,
    );
    const statements: number[] = [];
    s.committer.step('presence.online', (tx, inputs) => {
      statements.push(inputs.length);
      return markOnline(tx, inputs as OnlineInput[]);
    });
    const registered = await s.services.devices.registerMany(ADMIN, { productKey: product.productKey, count: 13 });
    const ids = registered.map((r) => r.device);
    const [twice, disabled, cycle, ...rest] = ids;
    await s.services.devices.disable(ADMIN, product.productKey, disabled!.deviceName);
    const head = await s.log.headPosition();

    // Submitted together: one of them twice (a reconnect within the commit), one with a secret it no longer has,
    // one disabled (the guard applies only with a secret, as for a broker login).
    const results = await Promise.all([
      presence.connect(twice!, '10.0.0.1'),
      ...rest.map((d) => presence.connect(d, '10.0.0.2')),
      presence.connect(twice!, '10.0.0.3'),
      presence.connect(disabled!, '10.0.0.4', { secretEnc: 'not-its-secret' }),
      // A disconnect (statements of its own) between two logins of a device sees the first one done.
      presence.connect(cycle!, '10.0.0.5'),
      presence.disconnect(cycle!, 1, 'CLIENT_DISCONNECT'),
      presence.connect(cycle!, '10.0.0.6'),
    ]);

    expect(results[0]).toEqual({ epoch: 1, activatedNow: true });
    expect(results.slice(1, 1 + rest.length)).toEqual(rest.map(() => ({ epoch: 1, activatedNow: true })));
    expect(results[1 + rest.length]).toEqual({ epoch: 2, activatedNow: false });
    expect(results[2 + rest.length]).toBeNull();
    expect(results.slice(3 + rest.length)).toEqual([
      { epoch: 1, activatedNow: true },
      true,
      { epoch: 2, activatedNow: false },
    ]);
    // Some statement carried several logins; the repeated device never shares one with its own earlier login.
    expect(Math.max(...statements)).toBeGreaterThan(1);

    const status = await s.log.read(head, null, { types: ['device.status'], productKey: product.productKey }, 100);
    const of = (dn: string) =>
      status.filter((e) => e.deviceName === dn).map((e) => [e.data.status, e.data.connectionEpoch, e.data.reason]);
    expect(of(twice!.deviceName)).toEqual([
      ['online', 1, null],
      ['offline', 1, 'TAKEN_OVER'],
      ['online', 2, null],
    ]);
    for (const d of rest) expect(of(d.deviceName)).toEqual([['online', 1, null]]);
    expect(of(disabled!.deviceName)).toEqual([]);
    expect(of(cycle!.deviceName)).toEqual([
      ['online', 1, null],
      ['offline', 1, 'CLIENT_DISCONNECT'],
      ['online', 2, null],
    ]);

    const devices = await Promise.all(ids.map((d) => s.services.devices.get(ADMIN, product.productKey, d.deviceName)));
    expect(devices.map((d) => [d?.online, d?.connectionEpoch])).toEqual([
      [true, 2],
      [false, 0],
      [true, 2],
      ...rest.map(() => [true, 1]),
    ]);
    expect(devices[0]?.clientIp).toBe('10.0.0.3');

    // A disconnect and a login of one device after another device's login: the shared statements keep their order.
    const [first, second] = rest;
    const next = await s.log.headPosition();
    expect(
      await Promise.all([
        presence.connect(second!, '10.0.0.7'),
        presence.disconnect(first!, 1, 'CLIENT_DISCONNECT'),
        presence.connect(first!, '10.0.0.8'),
      ]),
    ).toEqual([{ epoch: 2, activatedNow: false }, true, { epoch: 2, activatedNow: false }]);
    const later = await s.log.read(next, null, { types: ['device.status'], productKey: product.productKey }, 100);
    expect(later.filter((e) => e.deviceName === first!.deviceName).map((e) => [e.data.status, e.data.reason])).toEqual([
      ['offline', 'CLIENT_DISCONNECT'],
      ['online', null],
    ]);
    expect(later.filter((e) => e.deviceName === second!.deviceName).map((e) => [e.data.status, e.data.reason])).toEqual(
      [
        ['offline', 'TAKEN_OVER'],
        ['online', null],
      ],
    );
  });
});
