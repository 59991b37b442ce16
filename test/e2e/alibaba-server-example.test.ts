import { describe, expect, it } from 'vitest';
import { main } from '../../examples/alibaba-server/run.ts';
import { usePlatform } from '../helpers/use-platform.ts';

/**
 * The alibaba-server example (examples/alibaba-server): a server written with @alicloud/iot20180120 drives a lamp on
 * Alibaba's Link SDK through a running ThingQL, in both signature modes, and leaves ThingQL as it found it.
 */
describe('the alibaba-server example', () => {
  const t = usePlatform('pglite');

  it.each([false, true])('runs the unchanged Alibaba server code (RPC signatures: %s)', async (rpcSignature) => {
    const lines: string[] = [];
    const r = await main({
      thingql: { httpUrl: t.httpUrl, mqttUrl: `mqtt://127.0.0.1:${t.platform.mqttPort}`, adminToken: t.adminToken },
      rpcSignature,
      log: (l) => lines.push(l),
    }).catch((e: Error) => {
      // What the example printed until it failed says where it stopped.
      throw new Error(`${e.message}\n${lines.join('\n')}`, { cause: e });
    });
    expect(r.statusBefore).toBe('UNACTIVE');
    expect(r.ping).toEqual({ code: 'SUCCESS', answer: 'pong: are you there?' });
    expect(r.blink).toEqual({ Done: 1 });
    expect(r.notified).toMatch(/^\d+$/);
    expect(r.properties).toMatchObject({ LightSwitch: '1', Brightness: '80' });
    expect(lines).toContain(`[lamp ${r.deviceName}] message: good evening`);

    const after = await t.gql(
      `query($pk: String!) { product(productKey: $pk) { productKey } accessKeys { name revokedAt } }`,
      { pk: r.productKey },
    );
    expect(after.data.product, lines.join('\n')).toBeNull();
    expect(
      after.data.accessKeys.filter(
        (k: { name: string; revokedAt: string | null }) => k.name.startsWith('lamp-server-') && !k.revokedAt,
      ),
      lines.join('\n'),
    ).toEqual([]);
  });
});
