/**
 * Several instances: `npx tsx bench/cluster.ts [--devices 200] [--window 4] [--seconds 5] [--rounds 3]
 * [--database-url postgres://...] [--redis-url redis://127.0.0.1:6379] [--quick] [--json FILE]`.
 *
 * Two ThingQL instances (child processes, `REDIS_URL` set: events fan out over Redis, MQTT routing over
 * mqemitter-redis) share one PostgreSQL database (fresh, dropped at the end) and one Redis. `--devices` mqtt.js
 * devices (Alink login) post smart-lamp properties with QoS 1 in a closed loop (bench/lib/mqtt-load.ts: `--window`
 * posts in flight per device; a PUBACK comes once the post is committed). Measured: PUBACKs per second.
 *  - two instances: device i logs in to instance i % 2;
 *  - baseline, same run, same load: one instance (the same configuration, Redis included: a cluster of one), every
 *    device on it; the second instance is stopped meanwhile so it costs nothing.
 * Rounds alternate which configuration goes first. The servers' CPU (sum over the instances, process.cpuUsage) per
 * post is reported too; PostgreSQL, Redis and the devices (this process) are not in it.
 *
 * All of it shares the machine's cores: the devices, both instances, PostgreSQL and Redis. On 2 cores a second
 * instance has no core of its own, so the ratio shows what this machine allows, not the scale-out of spare cores.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { startChild, type Child } from './lib/child.ts';
import { gqlClient, provision, smartLampTsl } from './lib/gql.ts';
import { closedLoop, connectDevices, disconnectDevices, type LoadResult } from './lib/mqtt-load.ts';
import { createFreshDatabase, DEFAULT_DATABASE_URL } from './lib/pg.ts';
import { fmtRatio, machine, say, writeResult, type BenchOutput, type Row } from './lib/report.ts';
import { fmtSpread, ratioOf, round, spread } from './lib/stats.ts';
import type { ThingqlReady } from './lib/thingql-child.ts';

const { values: opt } = parseArgs({
  options: {
    devices: { type: 'string' },
    window: { type: 'string', default: '4' },
    seconds: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    'database-url': { type: 'string', default: DEFAULT_DATABASE_URL },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const DEVICES = Number(opt.devices ?? (opt.quick ? 20 : 200));
const WINDOW = Math.max(1, Number(opt.window));
const SECONDS = Number(opt.seconds ?? (opt.quick ? 2 : 5));
const ROUNDS = Math.max(1, Number(opt.rounds));
const GOAL = 1.6;

interface RoundFigures extends LoadResult {
  instances: number;
  serverCpuMicrosPerPost: number;
}

async function main(): Promise<void> {
  const cores = os.availableParallelism();
  say(
    `cluster: ${DEVICES} devices x ${WINDOW} posts in flight, ${ROUNDS} rounds of ${SECONDS} s; one vs two instances on ${cores} cores`,
  );
  const fresh = await createFreshDatabase(opt['database-url']!, 'cluster');
  const config = JSON.stringify({ DATABASE_URL: fresh.url, REDIS_URL: opt['redis-url'] });
  const entry = new URL('./lib/thingql-child.ts', import.meta.url);
  const start = (name: string) => startChild<ThingqlReady>(entry, [config], { name });
  let a: Child<ThingqlReady> | null = null;
  let b: Child<ThingqlReady> | null = null;
  try {
    a = await start('thingql A');
    const gql = gqlClient(a.ready.httpPort, a.ready.adminToken);
    const { devices: creds } = await provision(gql, {
      name: 'Cluster bench lamp',
      tsl: smartLampTsl(),
      count: DEVICES,
    });
    gql.close();

    const run = async (instances: Child<ThingqlReady>[]): Promise<RoundFigures> => {
      const devices = await connectDevices(
        creds,
        (i) => `mqtt://127.0.0.1:${instances[i % instances.length]!.ready.mqttPort}`,
      );
      const cpu: Record<'start' | 'end', number> = { start: 0, end: 0 };
      const r = await closedLoop(devices, {
        window: WINDOW,
        seconds: SECONDS,
        onWindow: async (edge) => {
          cpu[edge] = (await Promise.all(instances.map((c) => c.usage()))).reduce((s, u) => s + u.cpuMicros, 0);
        },
      });
      await disconnectDevices(devices);
      await new Promise((res) => setTimeout(res, 500)); // the disconnects are recorded before the next phase
      return { ...r, instances: instances.length, serverCpuMicrosPerPost: round((cpu.end - cpu.start) / r.acked, 1) };
    };

    const rounds: { one: RoundFigures[]; two: RoundFigures[] } = { one: [], two: [] };
    for (let r = 1; r <= ROUNDS; r++) {
      const phases: ('one' | 'two')[] = r % 2 === 1 ? ['one', 'two'] : ['two', 'one'];
      for (const phase of phases) {
        let f: RoundFigures;
        if (phase === 'one') f = await run([a]);
        else {
          b = await start('thingql B');
          f = await run([a, b]);
          await b.stop();
          b = null;
        }
        rounds[phase].push(f);
        say(
          `  round ${r} ${phase === 'one' ? 'one instance ' : 'two instances'}: ${f.postsPerSecond} posts/s, PUBACK p50 ${f.pubackLatencyMs.p50} ms p99 ${f.pubackLatencyMs.p99} ms, server CPU ${f.serverCpuMicrosPerPost} us/post${f.failed ? `, ${f.failed} FAILED` : ''}`,
        );
      }
    }

    const sp = (k: 'one' | 'two', f: (x: RoundFigures) => number, d = 2) => spread(rounds[k].map(f), d);
    const figures = {
      one: {
        postsPerSecond: sp('one', (x) => x.postsPerSecond, 0),
        pubackP99Ms: sp('one', (x) => x.pubackLatencyMs.p99),
        serverCpuMicrosPerPost: sp('one', (x) => x.serverCpuMicrosPerPost, 1),
      },
      two: {
        postsPerSecond: sp('two', (x) => x.postsPerSecond, 0),
        pubackP99Ms: sp('two', (x) => x.pubackLatencyMs.p99),
        serverCpuMicrosPerPost: sp('two', (x) => x.serverCpuMicrosPerPost, 1),
      },
      rounds,
    };
    const ratio = ratioOf(figures.two.postsPerSecond, figures.one.postsPerSecond);
    const failed = [...rounds.one, ...rounds.two].reduce((s, f) => s + f.failed, 0);
    const spare = cores >= 4;
    const rows: Row[] = [
      {
        scenario: `Two instances behind one Redis and PostgreSQL: QoS 1 posts/s, ${DEVICES} devices split (${cores} cores)`,
        baseline: `${fmtSpread(figures.one.postsPerSecond)} (one instance)`,
        measured: fmtSpread(figures.two.postsPerSecond),
        ratio: fmtRatio(ratio),
        goal: `>= ${GOAL}x with spare cores${spare ? '' : `; ${cores} cores here: report`}`,
        met: spare ? failed === 0 && ratio >= GOAL : null,
      },
    ];
    const out: BenchOutput = {
      bench: 'cluster',
      at: new Date().toISOString(),
      machine: machine(),
      options: { devices: DEVICES, window: WINDOW, seconds: SECONDS, rounds: ROUNDS, cores, quick: opt.quick },
      rows,
      figures: { ...figures, ratio, failed },
      notes: [
        'Load: closed loop of QoS 1 property posts (3 smart-lamp properties), PUBACK after commit; devices in the parent process.',
        `Server CPU: process.cpuUsage() of the ThingQL instances (sum), not PostgreSQL or Redis. ${cores} cores shared by devices, instances, PostgreSQL and Redis.`,
      ],
    };
    console.log(`\ntwo instances / one instance, same run: ${fmtRatio(ratio)} (${cores} cores)`);
    console.log(`written ${writeResult(out, opt.json)}`);
  } finally {
    await b?.stop();
    await a?.stop();
    await fresh.drop();
  }
}

await main();
process.exit(0);
