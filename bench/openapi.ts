/**
 * Alibaba OpenAPI `Pub` beside GraphQL `pub`: `npx tsx bench/openapi.ts [--rounds 3] [--seconds 4]
 * [--concurrency 16] [--quick] [--json FILE]`.
 *
 * One ThingQL in a child process (embedded database, bench/lib/thingql-child.ts); one product, one device connected
 * with mqtt.js (Alink login) subscribed to `/${pk}/${dn}/user/get`, so every publish is delivered. Three clients in
 * this process, each a closed loop of `--concurrency` calls in flight for `--seconds` after a 1 s warm-up:
 *  - baseline: GraphQL `pub` over HTTP/1.1 keep-alive with the admin token (bench/lib/gql.ts);
 *  - OpenAPI `Pub` with Alibaba's own SDK (`@alicloud/iot20180120`, ACS3-HMAC-SHA256, its default), unchanged;
 *  - the same with `signatureAlgorithm: 'v2'` (RPC HMAC-SHA1).
 * Both paths end in the same service call (commands.pub: record the command, then publish). The figure is calls
 * answered per second; the SDK's client-side cost (signing, its HTTP layer) is in this process, not the server's.
 * The server CPU per call is reported beside it. Rounds rotate the order, so a busy spell of the machine weighs on all.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as $Iot from '@alicloud/iot20180120';
import * as OpenApi from '@alicloud/openapi-client';
import mqtt from 'mqtt';
import { alinkLogin } from '../test/helpers/devices.ts';
import { startChild } from './lib/child.ts';
import { gqlClient, provision } from './lib/gql.ts';
import { fmtRatio, machine, say, writeResult, type BenchOutput, type Row } from './lib/report.ts';
import { fmtSpread, ratioOf, round, spread } from './lib/stats.ts';
import type { ThingqlReady } from './lib/thingql-child.ts';

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const ROUNDS = Math.max(1, Number(opt.rounds));
const SECONDS = Number(opt.seconds ?? (opt.quick ? 2 : 4));
const CONCURRENCY = Math.max(1, Number(opt.concurrency));
const WARMUP_MS = 1000;
const GOAL = 0.8;

type ClientClass = typeof $Iot.default.default;
const loaded = $Iot.default as unknown as ClientClass | { default: ClientClass };
const IotClient: ClientClass = typeof loaded === 'function' ? loaded : loaded.default;

type Way = 'graphql' | 'acs3' | 'rpc';

/** A closed loop of CONCURRENCY callers; counts the calls answered in the window after the warm-up. */
async function closedLoop(
  call: (k: number) => Promise<void>,
): Promise<{ perSecond: number; errors: number; calls: number }> {
  let done = 0;
  let errors = 0;
  let counting = false;
  let stop = false;
  let k = 0;
  const worker = async () => {
    while (!stop) {
      try {
        await call(k++);
        if (counting) done++;
      } catch {
        errors++;
      }
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, worker);
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(workers);
  return { perSecond: round(done / elapsed, 0), errors, calls: done };
}

async function main(): Promise<void> {
  const child = await startChild<ThingqlReady>(new URL('./lib/thingql-child.ts', import.meta.url), ['{}'], {
    name: 'thingql',
  });
  const gql = gqlClient(child.ready.httpPort, child.ready.adminToken, CONCURRENCY);
  const device = { productKey: '', deviceName: '' };
  let received = 0;
  try {
    const { productKey, devices } = await provision(gql, { name: 'OpenAPI bench', count: 1 });
    const dev = devices[0]!;
    Object.assign(device, dev);
    const mq = await mqtt.connectAsync(`mqtt://127.0.0.1:${child.ready.mqttPort}`, {
      ...alinkLogin(dev),
      reconnectPeriod: 0,
      keepalive: 60,
    });
    const topic = `/${productKey}/${dev.deviceName}/user/get`;
    await mq.subscribeAsync(topic, { qos: 0 });
    mq.on('message', () => void received++);
    const k = await gql(
      `mutation($i: CreateAccessKeyInput!) { createAccessKey(input: $i) { accessKey { accessKeyId } accessKeySecret userErrors { code } } }`,
      { i: { name: 'bench', role: 'OPERATOR' } },
    );
    const key = {
      accessKeyId: k.createAccessKey.accessKey.accessKeyId as string,
      accessKeySecret: k.createAccessKey.accessKeySecret as string,
    };
    const sdk = (v2: boolean) =>
      new IotClient(
        new OpenApi.Config({
          ...key,
          endpoint: `127.0.0.1:${child.ready.httpPort}`,
          protocol: 'http',
          readTimeout: 10000,
          connectTimeout: 10000,
          ...(v2 ? { signatureAlgorithm: 'v2' } : {}),
        }),
      );
    const clients = { acs3: sdk(false), rpc: sdk(true) };
    const payload = Buffer.from(JSON.stringify({ cmd: 'on', brightness: 80 })).toString('base64');
    const calls: Record<Way, (n: number) => Promise<void>> = {
      graphql: async () => {
        const r = await gql(`mutation($i: PubInput!) { pub(input: $i) { messageId userErrors { code } } }`, {
          i: { productKey, topicFullName: topic, payload, encoding: 'BASE64' },
        });
        if (r.pub.userErrors.length) throw new Error(r.pub.userErrors[0].code);
      },
      acs3: async () => {
        const r = await clients.acs3.pub(
          new $Iot.PubRequest({ productKey, topicFullName: topic, messageContent: payload, qos: 0 }),
        );
        if (!r.body.success) throw new Error(r.body.code);
      },
      rpc: async () => {
        const r = await clients.rpc.pub(
          new $Iot.PubRequest({ productKey, topicFullName: topic, messageContent: payload, qos: 0 }),
        );
        if (!r.body.success) throw new Error(r.body.code);
      },
    };
    const ways: Way[] = ['graphql', 'acs3', 'rpc'];
    const perRound: Record<Way, { perSecond: number; errors: number; serverCpuUsPerCall: number }[]> = {
      graphql: [],
      acs3: [],
      rpc: [],
    };
    for (let r = 0; r < ROUNDS; r++) {
      const order = ways.map((_, i) => ways[(i + r) % ways.length]!);
      for (const w of order) {
        const before = await child.usage();
        const res = await closedLoop(calls[w]);
        const after = await child.usage();
        // Server CPU over the whole loop (warm-up included) per call answered in it, approximately.
        const serverCpuUsPerCall = round(
          (after.cpuMicros - before.cpuMicros) / (res.calls * (1 + WARMUP_MS / (SECONDS * 1000))),
          0,
        );
        perRound[w].push({ perSecond: res.perSecond, errors: res.errors, serverCpuUsPerCall });
        say(
          `round ${r + 1} ${w}: ${res.perSecond} calls/s, ${res.errors} errors, ~${serverCpuUsPerCall} µs server CPU per call`,
        );
      }
    }
    await mq.endAsync();
    const s = (w: Way) =>
      spread(
        perRound[w].map((x) => x.perSecond),
        0,
      );
    const cpu = (w: Way) =>
      spread(
        perRound[w].map((x) => x.serverCpuUsPerCall),
        0,
      );
    const errors = (w: Way) => perRound[w].reduce((a, x) => a + x.errors, 0);
    const base = s('graphql');
    const rows: Row[] = (['acs3', 'rpc'] as const).map((w) => {
      const ratio = ratioOf(s(w), base);
      return {
        scenario: `OpenAPI Pub calls/s, ${w === 'acs3' ? 'ACS3-HMAC-SHA256' : 'RPC HMAC-SHA1'} (@alicloud/iot20180120, ${CONCURRENCY} in flight)`,
        baseline: `${fmtSpread(base)} (GraphQL pub; server CPU ${fmtSpread(cpu('graphql'), ' µs')}/call)`,
        measured: `${fmtSpread(s(w))}${errors(w) ? `, ${errors(w)} errors` : ''} (server CPU ${fmtSpread(cpu(w), ' µs')}/call)`,
        ratio: fmtRatio(ratio),
        goal: `>= ${GOAL}x baseline`,
        met: errors(w) === 0 && ratio >= GOAL,
      };
    });
    const out: BenchOutput = {
      bench: 'openapi',
      at: new Date().toISOString(),
      machine: machine(),
      options: { rounds: ROUNDS, seconds: SECONDS, concurrency: CONCURRENCY, quick: opt.quick },
      rows,
      figures: { perRound, received },
      notes: [
        'the SDK signs and parses in the client process; server CPU per call compares the two paths on the server alone',
      ],
    };
    const file = writeResult(out, opt.json);
    say(`wrote ${file}`);
    for (const r of rows) console.log(`${r.scenario}: ${r.measured} vs ${r.baseline} = ${r.ratio}`);
  } finally {
    gql.close();
    await child.stop();
  }
}

await main();
