import { eq } from 'drizzle-orm';
import { beforeAll, expect, it } from 'vitest';
import { accessKeys } from '../../src/db/tables.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { createApiKey, createProduct, mutate, mutateOk } from './support.ts';
import { describeEachDb } from '../helpers/services-env.ts';

const SELECT = 'accessKey { id accessKeyId name role productKeys createdAt revokedAt lastUsedAt } accessKeySecret';

describeEachDb('AccessKey pairs on %s', (kind) => {
  const t = usePlatform(kind);
  let pkA: string;
  let pkB: string;

  beforeAll(async () => {
    pkA = (await createProduct(t, { name: 'Product A' })).productKey;
    pkB = (await createProduct(t, { name: 'Product B' })).productKey;
  });

  it('creates a pair whose secret is shown once and stored only encrypted', async () => {
    const p = await mutateOk(t, 'createAccessKey', { name: 'server', role: 'OPERATOR', productKeys: [pkA] }, SELECT);
    expect(p.accessKey.accessKeyId).toMatch(/^TQL[A-Za-z0-9]{21}$/);
    expect(p.accessKeySecret).toMatch(/^[A-Za-z0-9]{30}$/);
    expect(p.accessKey).toMatchObject({
      name: 'server',
      role: 'OPERATOR',
      productKeys: [pkA],
      revokedAt: null,
      lastUsedAt: null,
    });

    const [row] = await t.platform.database.db
      .select()
      .from(accessKeys)
      .where(eq(accessKeys.accessKeyId, p.accessKey.accessKeyId));
    expect(row!.secretEnc).not.toContain(p.accessKeySecret);
    expect(t.platform.secrets.decrypt(row!.secretEnc)).toBe(p.accessKeySecret);

    const listed = await t.gql('{ accessKeys { accessKeyId name role productKeys } }');
    expect(JSON.stringify(listed)).not.toContain(p.accessKeySecret);
    expect(listed.data.accessKeys).toContainEqual({
      accessKeyId: p.accessKey.accessKeyId,
      name: 'server',
      role: 'OPERATOR',
      productKeys: [pkA],
    });

    const node = await t.gql('query($id: ID!) { node(id: $id) { ... on AccessKey { accessKeyId } } }', {
      id: p.accessKey.id,
    });
    expect(node.data.node.accessKeyId).toBe(p.accessKey.accessKeyId);
  });

  it('resolves an active key to its secret, role and scope, and nothing once revoked', async () => {
    const svc = t.platform.services.accessKeys;
    const p = await mutateOk(t, 'createAccessKey', { name: 'viewer', role: 'VIEWER', productKeys: [pkB] }, SELECT);
    const id = p.accessKey.accessKeyId as string;
    const resolved = await svc.resolveAccessKey(id);
    expect(resolved).toMatchObject({ accessKeyId: id, secret: p.accessKeySecret, role: 'VIEWER', productKeys: [pkB] });
    expect(resolved!.principal).toMatchObject({
      kind: 'accessKey',
      role: 'VIEWER',
      productKeys: [pkB],
      accessKeyId: id,
    });
    expect(await svc.resolveAccessKey(id)).toEqual(resolved); // cached answer is the same

    const r = await mutateOk(t, 'revokeAccessKey', { accessKeyId: id }, 'accessKey { accessKeyId revokedAt }');
    expect(r.accessKey.revokedAt).not.toBeNull();
    expect(await svc.resolveAccessKey(id)).toBeNull();
    expect(await svc.lookupAccessKey(id)).toEqual({ status: 'revoked' });
    expect(await svc.lookupAccessKey(`TQL${'x'.repeat(21)}`)).toEqual({ status: 'notFound' });
    expect(await svc.resolveAccessKey('not an id')).toBeNull();
  });

  it('updates lastUsedAt when a use is recorded', async () => {
    const p = await mutateOk(t, 'createAccessKey', { name: 'used', role: 'VIEWER' }, SELECT);
    t.platform.services.accessKeys.markUsed(p.accessKey.accessKeyId);
    await expect
      .poll(
        async () =>
          (await t.gql('{ accessKeys { accessKeyId lastUsedAt } }')).data.accessKeys.find(
            (k: any) => k.accessKeyId === p.accessKey.accessKeyId,
          ).lastUsedAt,
      )
      .not.toBeNull();
  });

  it('answers bad input with userErrors and changes nothing', async () => {
    const before = (await t.gql('{ accessKeys { accessKeyId } }')).data.accessKeys.length;
    expect((await mutate(t, 'createAccessKey', { name: ' ', role: 'VIEWER' })).payload.userErrors[0].code).toBe(
      'INVALID_NAME',
    );
    expect(
      (await mutate(t, 'createAccessKey', { name: 'x', role: 'VIEWER', productKeys: [] })).payload.userErrors[0].code,
    ).toBe('INVALID_INPUT');
    expect(
      (await mutate(t, 'createAccessKey', { name: 'x', role: 'VIEWER', productKeys: ['a1nonexisting'] })).payload
        .userErrors[0].code,
    ).toBe('PRODUCT_NOT_FOUND');
    expect(
      (await mutate(t, 'revokeAccessKey', { accessKeyId: 'TQLdoesnotexist0000000000' })).payload.userErrors[0].code,
    ).toBe('ACCESS_KEY_NOT_FOUND');
    expect((await t.gql('{ accessKeys { accessKeyId } }')).data.accessKeys.length).toBe(before);
  });

  it('is ADMIN only, and a scoped admin sees and manages only keys within its products', async () => {
    const operator = await createApiKey(t, 'OPERATOR');
    const denied = await mutate(t, 'createAccessKey', { name: 'x', role: 'VIEWER' }, 'accessKeySecret', operator.token);
    expect(denied.errors?.[0].extensions.code).toBe('FORBIDDEN');
    expect((await t.gql('{ accessKeys { accessKeyId } }', {}, operator.token)).errors?.[0].extensions.code).toBe(
      'FORBIDDEN',
    );

    const scopedAdmin = await createApiKey(t, 'ADMIN', [pkA]);
    const own = await mutateOk(t, 'createAccessKey', { name: 'scoped', role: 'VIEWER' }, SELECT, scopedAdmin.token);
    expect(own.accessKey.productKeys).toEqual([pkA]); // absent scope: the creator's
    const wider = await mutate(
      t,
      'createAccessKey',
      { name: 'x', role: 'VIEWER', productKeys: [pkB] },
      '',
      scopedAdmin.token,
    );
    expect(wider.payload.userErrors[0].code).toBe('PRODUCT_NOT_FOUND');
    const other = await mutateOk(t, 'createAccessKey', { name: 'b only', role: 'VIEWER', productKeys: [pkB] }, SELECT);
    const seen = (await t.gql('{ accessKeys { accessKeyId productKeys } }', {}, scopedAdmin.token)).data.accessKeys;
    expect(seen.every((k: any) => k.productKeys?.every((pk: string) => pk === pkA))).toBe(true);
    const revokeOther = await mutate(
      t,
      'revokeAccessKey',
      { accessKeyId: other.accessKey.accessKeyId },
      '',
      scopedAdmin.token,
    );
    expect(revokeOther.payload.userErrors[0].code).toBe('ACCESS_KEY_NOT_FOUND');
    expect(await t.platform.services.accessKeys.resolveAccessKey(other.accessKey.accessKeyId)).not.toBeNull();
  });
});
