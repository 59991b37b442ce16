import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../src/db/client.ts';
import { OTA_MAX_FIRMWARE_BYTES } from '../../src/services/ota/firmware.ts';
import { firmwareLink, linkSigner } from '../../src/services/ota/links.ts';
import { connectDevice, nextMessage, productWithDevices, sleep, type DeviceCreds } from '../helpers/devices.ts';
import { Collected, wsClient } from '../helpers/graphql-ws.ts';
import { dbKinds, startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

/**
 * OTA end to end: real mqtt.js devices on the automatic subscription to
 * /ota/device/upgrade/${pk}/${dn} (D19), firmware uploaded with the GraphQL multipart request spec and downloaded over
 * HTTP from the signed link of the push, reports on the OTA uplinks, job status over GraphQL and the otaProgress
 * subscription over graphql-ws.
 */

const FIRMWARE_SELECT = 'id firmwareId productKey version module size md5 sha256 signMethod url';
const CREATE_FIRMWARE = `mutation($input: CreateFirmwareInput!) { createFirmware(input: $input) { firmware { ${FIRMWARE_SELECT} } userErrors { code message field } } }`;
const JOB = `jobId status rolloutRate counts { total queued notified inProgress succeeded failed canceled }
  tasks(first: 50) { edges { node { deviceName status step desc srcVersion destVersion module } } }`;

/** createFirmware with `file` sent as a multipart upload (graphql-multipart-request-spec). */
async function upload(
  t: TestPlatform,
  input: Record<string, unknown>,
  bytes: Buffer,
  token = t.adminToken,
): Promise<any> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: CREATE_FIRMWARE, variables: { input: { ...input, file: null } } }));
  form.set('map', JSON.stringify({ 0: ['variables.input.file'] }));
  form.set('0', new Blob([Uint8Array.from(bytes)]), 'firmware.bin');
  const res = await fetch(t.graphqlUrl, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const body = (await res.json()) as any;
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data.createFirmware;
}

async function createJob(t: TestPlatform, input: Record<string, unknown>): Promise<any> {
  const r = await t.gql(
    `mutation($input: CreateOtaJobInput!) { createOtaJob(input: $input) { job { ${JOB} } userErrors { code message field } } }`,
    { input },
  );
  expect(r.errors).toBeUndefined();
  return r.data.createOtaJob;
}

async function job(t: TestPlatform, jobId: string): Promise<any> {
  const r = await t.gql(`query($id: ID!) { otaJob(id: $id) { ${JOB} } }`, { id: jobId });
  expect(r.errors).toBeUndefined();
  return r.data.otaJob;
}

const byDevice = (j: any) => Object.fromEntries(j.tasks.edges.map((e: any) => [e.node.deviceName, e.node]));
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const publish = (c: MqttClient, topic: string, body: unknown) =>
  c.publishAsync(topic, JSON.stringify(body), { qos: 1 });
const inform = (c: MqttClient, d: DeviceCreds, version: string, module?: string) =>
  publish(c, `/ota/device/inform/${d.productKey}/${d.deviceName}`, {
    id: '1',
    params: { version, ...(module ? { module } : {}) },
  });
const progress = (c: MqttClient, d: DeviceCreds, step: string, desc?: string) =>
  publish(c, `/ota/device/progress/${d.productKey}/${d.deviceName}`, {
    id: `p${step}`,
    params: { step, ...(desc ? { desc } : {}) },
  });
const nextPush = (c: MqttClient, d: DeviceCreds, timeoutMs = 8000) =>
  nextMessage(c, (topic) => topic === `/ota/device/upgrade/${d.productKey}/${d.deviceName}`, timeoutMs).then((m) =>
    JSON.parse(m.payload.toString()),
  );

/** The rollout's round interval on the suite's platform. */
const ROUND_MS = 100;

/** Poll until `fn` holds (the rollout runs on its own clock). */
async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await sleep(100);
  }
}

describe.each(dbKinds())('OTA firmware updates on %s', (kind) => {
  let t: TestPlatform;
  let pk: string;
  let devs: DeviceCreds[];
  const clients: MqttClient[] = [];
  const firmware = randomBytes(300_000);
  let fw: any;

  beforeAll(async () => {
    // A faster rollout clock (rounds every 1 s, pushes 1 s after login by default): what is asserted is the order of
    // things, never their timing.
    t = await startTestPlatform(kind, {}, { ota: { intervalMs: ROUND_MS, settleMs: 250 } });
    ({ productKey: pk, devices: devs } = await productWithDevices(t, 8));
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync().catch(() => {});
    await t?.close();
  });

  const connect = async (d: DeviceCreds) => {
    const c = await connectDevice(t, 'tcp', d);
    clients.push(c);
    return c;
  };

  it('stores an uploaded package with the size and digests of its bytes, and refuses the same version twice', async () => {
    const r = await upload(
      t,
      { productKey: pk, name: 'Main firmware', version: '2.0.0', signMethod: 'SHA256' },
      firmware,
    );
    expect(r.userErrors).toEqual([]);
    fw = r.firmware;
    expect(fw).toMatchObject({
      productKey: pk,
      version: '2.0.0',
      module: 'default',
      size: firmware.length,
      md5: md5(firmware),
      sha256: sha256(firmware),
      signMethod: 'SHA256',
      url: null,
    });
    const again = await upload(t, { productKey: pk, name: 'Main firmware', version: '2.0.0' }, randomBytes(10));
    expect(again.userErrors.map((e: any) => e.code)).toEqual(['FIRMWARE_ALREADY_EXISTS']);
    const list = await t.gql(`query($pk: String!) { firmwares(productKey: $pk) { edges { node { firmwareId } } } }`, {
      pk,
    });
    expect(list.data.firmwares.edges.map((e: any) => e.node.firmwareId)).toEqual([fw.firmwareId]);
  });

  it('pushes an upgrade a device downloads and verifies, reports to 100 and completes with its new version; a second device fails at step -3; job and subscription show both', async () => {
    const [a, b] = [devs[0]!, devs[1]!];
    const ws = wsClient(t.wsUrl, t.adminToken);
    const events = Collected.subscribe(
      ws,
      `subscription($pk: String) { otaProgress(productKey: $pk) { kind jobId taskId productKey deviceName iotId status step desc module srcVersion destVersion version time cursor } }`,
      { pk },
    );
    await sleep(200);
    const [ca, cb] = [await connect(a), await connect(b)];
    await inform(ca, a, '1.0.0');
    await inform(cb, b, '1.0.0');

    const pushA = nextPush(ca, a);
    const pushB = nextPush(cb, b);
    const created = await createJob(t, {
      firmwareId: fw.id,
      deviceNames: [a.deviceName, b.deviceName],
      srcVersions: ['1.0.0'],
    });
    expect(created.userErrors).toEqual([]);
    expect(created.job).toMatchObject({ status: 'IN_PROGRESS', counts: { total: 2, queued: 2 } });
    const jobId = created.job.jobId as string;

    // Device A: the push (§3.9), the download from the signed link, the digest checks a device makes.
    const push = await pushA;
    expect(push).toMatchObject({
      code: '1000',
      message: 'success',
      data: {
        size: firmware.length,
        version: '2.0.0',
        md5: md5(firmware),
        sign: sha256(firmware),
        signMethod: 'SHA256',
        module: 'default',
        isDiff: 0,
      },
    });
    expect(typeof push.id).toBe('number');
    expect(push.data.url).toMatch(new RegExp(`^${t.httpUrl}/ota/firmware/${fw.firmwareId}\\?expires=\\d+&sig=`));
    const res = await fetch(push.data.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-length')).toBe(String(firmware.length));
    const downloaded = Buffer.from(await res.arrayBuffer());
    expect(md5(downloaded)).toBe(push.data.md5);
    expect(sha256(downloaded)).toBe(push.data.sign);
    for (const step of ['10', '50', '100']) await progress(ca, a, step, `step ${step}`);
    await inform(ca, a, '2.0.0');

    // Device B: the package fails verification.
    expect((await pushB).data.version).toBe('2.0.0');
    await progress(cb, b, '-3', 'sign check failed');

    const done = await until(
      () => job(t, jobId),
      (j) => j.status === 'COMPLETED',
    );
    expect(done).toMatchObject({
      status: 'COMPLETED',
      counts: { total: 2, queued: 0, notified: 0, inProgress: 0, succeeded: 1, failed: 1, canceled: 0 },
    });
    expect(byDevice(done)).toEqual({
      [a.deviceName]: {
        deviceName: a.deviceName,
        status: 'SUCCEEDED',
        step: 100,
        desc: null,
        srcVersion: '1.0.0',
        destVersion: '2.0.0',
        module: 'default',
      },
      [b.deviceName]: {
        deviceName: b.deviceName,
        status: 'FAILED',
        step: -3,
        desc: 'sign check failed',
        srcVersion: '1.0.0',
        destVersion: '2.0.0',
        module: 'default',
      },
    });
    const versions = await t.gql(
      `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { firmwareVersions { module version } } }`,
      { pk, dn: a.deviceName },
    );
    expect(versions.data.device.firmwareVersions).toEqual([{ module: 'default', version: '2.0.0' }]);

    // The subscription, per device, in commit order: version reports, the push, progress and the result.
    const items = (await events.waitFor(11)).map((i) => i.otaProgress);
    const seen = (dn: string) =>
      items
        .filter((e) => e.deviceName === dn)
        .map((e) => [e.kind, e.status, e.step, e.version ?? e.destVersion, e.desc]);
    expect(seen(a.deviceName)).toEqual([
      ['VERSION', null, null, '1.0.0', null],
      ['PROGRESS', 'NOTIFIED', null, '2.0.0', null],
      ['PROGRESS', 'IN_PROGRESS', 10, '2.0.0', 'step 10'],
      ['PROGRESS', 'IN_PROGRESS', 50, '2.0.0', 'step 50'],
      ['PROGRESS', 'IN_PROGRESS', 100, '2.0.0', 'step 100'],
      ['VERSION', null, null, '2.0.0', null],
      ['UPGRADE', 'SUCCEEDED', null, '2.0.0', null],
    ]);
    expect(seen(b.deviceName)).toEqual([
      ['VERSION', null, null, '1.0.0', null],
      ['PROGRESS', 'NOTIFIED', null, '2.0.0', null],
      ['PROGRESS', 'FAILED', -3, '2.0.0', 'sign check failed'],
      ['UPGRADE', 'FAILED', null, '2.0.0', 'sign check failed'],
    ]);
    const upgrade = items.find((e) => e.kind === 'UPGRADE' && e.deviceName === a.deviceName);
    expect(upgrade).toMatchObject({
      jobId,
      productKey: pk,
      module: 'default',
      srcVersion: '1.0.0',
      destVersion: '2.0.0',
    });
    expect(upgrade.taskId).toMatch(/^\d+$/);
    events.unsubscribe();

    // Resumable like every subscription: after the first event, the other ten are replayed.
    const resumed = Collected.subscribe(
      ws,
      `subscription($pk: String, $after: String) { otaProgress(productKey: $pk, after: $after) { kind deviceName cursor } }`,
      { pk, after: items[0].cursor },
    );
    expect((await resumed.waitFor(10)).map((i) => i.otaProgress.cursor)).toEqual(items.slice(1).map((e) => e.cursor));
    resumed.unsubscribe();
    await ws.dispose();
  });

  it('serves byte ranges, and refuses an expired or tampered link (403) and an unknown firmware (404)', async () => {
    const signer = linkSigner(t.platform.secrets.deriveKey('ota-link:v1'));
    const good = firmwareLink(signer, t.httpUrl, Number(fw.firmwareId), Date.now() + 60_000);
    const part = await fetch(good, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${firmware.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(firmware.subarray(100, 200));

    const expired = await fetch(firmwareLink(signer, t.httpUrl, Number(fw.firmwareId), Date.now() - 1));
    expect(expired.status).toBe(403);
    const expires = new URL(good).searchParams.get('expires')!;
    const tampered = await fetch(good.replace(`expires=${expires}`, `expires=${Number(expires) + 1}`));
    expect(tampered.status).toBe(403);
    const forged = await fetch(
      good.replace(`/ota/firmware/${fw.firmwareId}?`, `/ota/firmware/${Number(fw.firmwareId) + 1}?`),
    );
    expect(forged.status).toBe(403);
    const unknown = await fetch(firmwareLink(signer, t.httpUrl, 999_999, Date.now() + 60_000));
    expect(unknown.status).toBe(404);
    for (const r of [part, expired, tampered, forged, unknown])
      expect(r.headers.get('content-length') ?? '0').not.toBe(String(firmware.length));
  });

  it('refuses a package larger than the limit with PAYLOAD_TOO_LARGE and stores nothing', async () => {
    const r = await upload(
      t,
      { productKey: pk, name: 'Too big', version: '9.9.9' },
      Buffer.alloc(OTA_MAX_FIRMWARE_BYTES + 1),
    );
    expect(r).toMatchObject({ firmware: null, userErrors: [{ code: 'PAYLOAD_TOO_LARGE', field: ['input', 'file'] }] });
    const rows = await query<{ n: string | number }>(
      t.platform.database.db,
      sql`select count(*) as n from firmwares where version = '9.9.9'`,
    );
    expect(Number(rows[0]!.n)).toBe(0);
  }, 60_000);

  it('answers a device that reports progress without an upgrade task with 460 on /ext/error and changes nothing', async () => {
    const c = devs[2]!;
    const cc = await connect(c);
    await cc.subscribeAsync(`/ext/error/${pk}/${c.deviceName}`, { qos: 1 });
    const state = async () => ({
      tasks: await query(
        t.platform.database.db,
        sql`select id, job_id, device_id, status, step, description from ota_tasks order by id`,
      ),
      jobs: await query(t.platform.database.db, sql`select id, status from ota_jobs order by id`),
      otaEvents: await query(
        t.platform.database.db,
        sql`select position from events where type like 'ota.%' order by position`,
      ),
    });
    const before = await state();
    const error = nextMessage(cc, (topic) => topic === `/ext/error/${pk}/${c.deviceName}`);
    await publish(cc, `/ota/device/progress/${pk}/${c.deviceName}`, {
      id: '77',
      params: { step: '40', desc: 'downloading' },
    });
    expect(JSON.parse((await error).payload.toString())).toEqual({
      id: '77',
      code: 460,
      message: 'no upgrade task for this device',
      data: { productKey: pk, deviceName: c.deviceName },
    });
    expect(await state()).toEqual(before);
  });

  it('pushes at the rollout rate, and to an offline device when it comes online', async () => {
    const r = await upload(
      t,
      { productKey: pk, name: 'MCU firmware', version: '3.1.0', module: 'MCU' },
      randomBytes(1000),
    );
    expect(r.userErrors).toEqual([]);
    const [d, e, f] = [devs[3]!, devs[4]!, devs[5]!];
    const [cd, ce] = [await connect(d), await connect(e)];
    const pushes: string[] = [];
    for (const [c, dev] of [
      [cd, d],
      [ce, e],
    ] as const)
      c.on('message', (topic) => topic.startsWith('/ota/device/upgrade/') && pushes.push(dev.deviceName));
    const created = await createJob(t, {
      firmwareId: r.firmware.id,
      deviceNames: [d.deviceName, e.deviceName],
      rolloutRate: 1,
    });
    expect(created.userErrors).toEqual([]);
    const jobId = created.job.jobId;
    const one = await until(
      () => job(t, jobId),
      (j) => j.counts.notified === 1,
    );
    await sleep(5 * ROUND_MS); // more rollout rounds: the budget of 1 a minute is spent
    expect((await job(t, jobId)).counts).toMatchObject({ notified: 1, queued: 1 });
    expect(one.counts).toMatchObject({ notified: 1, queued: 1 });
    expect(pushes).toHaveLength(1);

    // An offline device is QUEUED, and pushed once it logs in (job without a rate).
    const offline = await createJob(t, { firmwareId: r.firmware.id, deviceNames: [f.deviceName] });
    expect(offline.job.counts).toMatchObject({ total: 1, queued: 1 });
    await sleep(5 * ROUND_MS);
    expect((await job(t, offline.job.jobId)).counts.queued).toBe(1);
    const cf = await connect(f);
    const push = await nextPush(cf, f);
    expect(push.data).toMatchObject({ version: '3.1.0', module: 'MCU', signMethod: 'Md5' });
    expect((await job(t, offline.job.jobId)).counts).toMatchObject({ queued: 0, notified: 1 });
  });

  it('keeps a device in one active task per module and cancels every active task of a job', async () => {
    const r = await upload(
      t,
      { productKey: pk, name: 'MCU firmware', version: '3.2.0', module: 'MCU' },
      randomBytes(100),
    );
    const busy = await createJob(t, { firmwareId: r.firmware.id, deviceNames: [devs[5]!.deviceName] });
    expect(busy.userErrors.map((x: any) => x.code)).toEqual(['DEVICE_BUSY']);
    const missing = await createJob(t, { firmwareId: r.firmware.id, deviceNames: ['no-such-device'] });
    expect(missing.userErrors.map((x: any) => x.code)).toEqual(['DEVICE_NOT_FOUND']);

    // Whole product: the devices not busy with the MCU module (0, 1, 2, 6, 7).
    const all = await createJob(t, { firmwareId: r.firmware.id });
    expect(all.userErrors).toEqual([]);
    expect(all.job.counts.total).toBe(5);
    const cancel = await t.gql(
      `mutation($input: CancelOtaJobInput!) { cancelOtaJob(input: $input) { job { status } userErrors { code } } }`,
      { input: { id: all.job.jobId } },
    );
    expect(cancel.data.cancelOtaJob).toEqual({ job: { status: 'CANCELED' }, userErrors: [] });
    expect((await job(t, all.job.jobId)).counts).toMatchObject({ total: 5, canceled: 5, queued: 0, notified: 0 });
    const page = (args: string) =>
      t
        .gql(
          `query($id: ID!) { otaJob(id: $id) { tasks(${args}) { edges { node { deviceName status } } pageInfo { hasNextPage endCursor } } } }`,
          { id: all.job.jobId },
        )
        .then((r) => r.data.otaJob.tasks);
    const head = await page('first: 2');
    const rest = await page(`first: 10, after: "${head.pageInfo.endCursor}"`);
    const tail = await page('last: 1');
    expect([head.edges.length, head.pageInfo.hasNextPage, rest.edges.length, rest.pageInfo.hasNextPage]).toEqual([
      2,
      true,
      3,
      false,
    ]);
    expect([...head.edges, ...rest.edges].map((e: any) => e.node.deviceName)).toEqual(
      [0, 1, 2, 6, 7].map((i) => devs[i]!.deviceName),
    );
    expect(tail.edges.map((e: any) => e.node)).toEqual([{ deviceName: devs[7]!.deviceName, status: 'CANCELED' }]);
    const twice = await t.gql(
      `mutation($input: CancelOtaJobInput!) { cancelOtaJob(input: $input) { userErrors { code } } }`,
      { input: { id: all.job.jobId } },
    );
    expect(twice.data.cancelOtaJob.userErrors).toEqual([{ code: 'JOB_NOT_ACTIVE' }]);
  });

  it('registers a package by URL, and pushes it again when the device logs in anew or asks on /ota/device/request', async () => {
    const gql = (input: Record<string, unknown>) =>
      t
        .gql(CREATE_FIRMWARE, { input: { productKey: pk, name: 'External', ...input } })
        .then((r) => r.data.createFirmware);
    const incomplete = await gql({
      version: '2.1.0',
      url: 'https://cdn.example.com/fw-2.1.0.bin',
      signMethod: 'SHA256',
    });
    expect(incomplete.userErrors.map((e: any) => [e.code, e.field.join('.')])).toEqual([
      ['INVALID_INPUT', 'input.size'],
      ['INVALID_INPUT', 'input.md5'],
      ['INVALID_INPUT', 'input.sha256'],
    ]);
    const digest = md5(Buffer.from('external'));
    const ext = await gql({ version: '2.1.0', url: 'https://cdn.example.com/fw-2.1.0.bin', size: 8, md5: digest });
    expect(ext).toMatchObject({
      userErrors: [],
      firmware: { url: 'https://cdn.example.com/fw-2.1.0.bin', size: 8, md5: digest, sha256: null, signMethod: 'MD5' },
    });

    const g = devs[6]!;
    const first = await connect(g);
    const push1 = nextPush(first, g);
    const created = await createJob(t, { firmwareId: ext.firmware.id, deviceNames: [g.deviceName] });
    expect(created.userErrors).toEqual([]);
    expect((await push1).data).toMatchObject({
      url: 'https://cdn.example.com/fw-2.1.0.bin',
      md5: digest,
      sign: digest,
      signMethod: 'Md5',
      size: 8,
    });
    await first.endAsync();

    const again = await connect(g);
    const push2 = await nextPush(again, g);
    expect(push2.data.version).toBe('2.1.0');
    const push3 = nextPush(again, g);
    await publish(again, `/ota/device/request/${pk}/${g.deviceName}`, { id: '5', params: { version: '1.0.0' } });
    expect((await push3).data.version).toBe('2.1.0');
    expect(byDevice(await job(t, created.job.jobId))[g.deviceName]).toMatchObject({ status: 'NOTIFIED' });
  });

  it('lets VIEWER keys read jobs but not create them, and hides other products from scoped keys', async () => {
    const key = async (role: string, productKeys?: string[]) => {
      const r = await t.gql(`mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { token } }`, {
        i: { name: `${role} key`, role, ...(productKeys ? { productKeys } : {}) },
      });
      return r.data.createApiKey.token as string;
    };
    const viewer = await key('VIEWER');
    const read = await t.gql(
      `query($pk: String!) { otaJobs(productKey: $pk) { edges { node { jobId status } } } }`,
      { pk },
      viewer,
    );
    expect(read.errors).toBeUndefined();
    expect(read.data.otaJobs.edges.length).toBeGreaterThan(0);
    const create = await t.gql(
      `mutation($input: CreateOtaJobInput!) { createOtaJob(input: $input) { userErrors { code } } }`,
      { input: { firmwareId: fw.id } },
      viewer,
    );
    expect(create.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const otherProduct = await t.gql(
      `mutation { createProduct(input: { name: "Other product" }) { product { productKey } } }`,
    );
    const other = await key('OPERATOR', [otherProduct.data.createProduct.product.productKey]);
    const hidden = await t.gql(`query($id: ID!) { firmware(id: $id) { id } }`, { id: fw.id }, other);
    expect(hidden.data.firmware).toBeNull();
    const upload2 = await upload(t, { productKey: pk, name: 'x', version: '5.0.0' }, randomBytes(10), other);
    expect(upload2.userErrors.map((e: any) => e.code)).toEqual(['PRODUCT_NOT_FOUND']);
  });
});
