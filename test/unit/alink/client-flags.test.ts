import { describe, expect, it } from 'vitest';
import { clientFlags } from '../../../src/domain/auth/client-flags.ts';
import { parseClientId } from '../../../src/domain/auth/client-id.ts';
import { batchEntries } from '../../../src/services/ingest/handlers/sub-device-session.ts';

describe('ClientId flags and batch login entries', () => {
  const flags = (raw: string) =>
    clientFlags((parseClientId(raw) as { ok: true; value: { params: Record<string, string> } }).value.params);

  it('reads ext (a bit set: bit 0 is the /ext/rrpc form) and _ss from the SDKs ClientIds', () => {
    expect(flags('a&b|securemode=3,signmethod=hmacsha1,ext=1,_ss=1,lan=Python,_v=1.2.13,timestamp=1|')).toMatchObject({
      extRrpc: true,
      platformSubscribes: true,
      lan: 'Python',
      sdkVersion: '1.2.13',
    });
    expect(
      flags('a.b|timestamp=2524608000000,_ss=1,_v=sdk-c-4.1.0,securemode=2,signmethod=hmacsha256,ext=3,|'),
    ).toMatchObject({ extRrpc: true, platformSubscribes: true });
    expect(
      flags('a.b|timestamp=2524608000000,_v=sdk-c-3.1.0,securemode=2,signmethod=hmacsha256,lan=C,_ss=1,gw=0,ext=0|'),
    ).toMatchObject({ extRrpc: false, platformSubscribes: true, gateway: false });
    expect(flags('a&b|securemode=3,signmethod=hmacsha1,timestamp=1,lan=NodeJS,_v=1.2.8|')).toMatchObject({
      extRrpc: false,
      platformSubscribes: false,
    });
    expect(flags('a|ext=yes|').extRrpc).toBe(false);
  });

  it('gives entries without their own sign method the params-level one (D24)', () => {
    expect(
      batchEntries({
        signMethod: 'hmacSha256',
        deviceList: [{ deviceName: 'x' }, { deviceName: 'y', signmethod: 'hmacmd5' }],
      }),
    ).toEqual([
      { deviceName: 'x', signMethod: 'hmacSha256' },
      { deviceName: 'y', signmethod: 'hmacmd5' },
    ]);
    expect(batchEntries([{ productKey: 'p', deviceName: 'x' }])).toEqual([{ productKey: 'p', deviceName: 'x' }]);
    expect(batchEntries({ deviceList: [] })).toBeNull();
    expect(batchEntries({ deviceList: Array.from({ length: 51 }, () => ({})) })).toBeNull();
  });
});
