/**
 * devicePropertySeries with whole-hour buckets reads the hourly rollup kept at ingest (db/schema/history-rollup.ts)
 * for complete hours and the raw points for the last, partial hour; the answer is the same as aggregating the raw
 * points, also when a late post lands in an hour that already has values (first/min/count merge).
 */
import { expect, it } from 'vitest';
import { connectDevice, nextMessage } from '../helpers/devices.ts';
import { usePlatform, useProduct } from '../helpers/use-platform.ts';
import { describeEachDb } from '../helpers/services-env.ts';
import { lampTsl } from '../helpers/tsl-fixtures.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

describeEachDb('hourly series on %s', (kind) => {
  const t = usePlatform(kind);
  const fleet = useProduct(t, 1, { tsl: lampTsl });

  it('answers whole-hour buckets from the rollup plus the raw last hour, merging late posts into their hour', async () => {
    const dev = fleet.devs[0]!;
    const c = await connectDevice(t, 'tcp', dev);
    const base = Date.UTC(2026, 1, 1, 0, 0, 0);
    const post = async (id: number, value: number, time: number) => {
      const topic = `/sys/${fleet.pk}/${dev.deviceName}/thing/event/property/post`;
      const reply = nextMessage(c, (tp) => tp === `${topic}_reply`);
      await c.publishAsync(
        topic,
        JSON.stringify({
          id: String(id),
          version: '1.0',
          params: { Brightness: { value, time } },
          method: 'thing.event.property.post',
        }),
        { qos: 1 },
      );
      expect(JSON.parse((await reply).payload.toString()).code).toBe(200);
    };
    await post(1, 10, base + 10 * MIN);
    await post(2, 30, base + 20 * MIN);
    await post(3, 50, base + 70 * MIN);
    await post(4, 70, base + 125 * MIN);
    await post(5, 5, base + 5 * MIN); // late: the earliest value of the first hour
    const series = async (interval: string, from: number, to: number) =>
      (
        await t.gql(
          `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!, $i: String!) { devicePropertySeries(productKey: $pk, deviceName: $dn, identifier: "Brightness", from: $from, to: $to, interval: $i) { start count avg min max sum first last } }`,
          {
            pk: fleet.pk,
            dn: dev.deviceName,
            from: new Date(from).toISOString(),
            to: new Date(to).toISOString(),
            i: interval,
          },
        )
      ).data.devicePropertySeries;
    const at = (ms: number) => new Date(ms).toISOString();
    expect(await series('1h', base, base + 150 * MIN)).toEqual([
      { start: at(base), count: 3, avg: 15, min: 5, max: 30, sum: 45, first: 5, last: 30 },
      { start: at(base + HOUR), count: 1, avg: 50, min: 50, max: 50, sum: 50, first: 50, last: 50 },
      { start: at(base + 2 * HOUR), count: 1, avg: 70, min: 70, max: 70, sum: 70, first: 70, last: 70 },
    ]);
    expect(await series('2h', base, base + 4 * HOUR)).toEqual([
      { start: at(base), count: 4, avg: 23.75, min: 5, max: 50, sum: 95, first: 5, last: 50 },
      { start: at(base + 2 * HOUR), count: 1, avg: 70, min: 70, max: 70, sum: 70, first: 70, last: 70 },
    ]);
    // The same points through the raw path (buckets not on an hour): the same aggregates.
    expect(await series('1h', base - 30 * MIN, base + 150 * MIN)).toEqual([
      { start: at(base - 30 * MIN), count: 3, avg: 15, min: 5, max: 30, sum: 45, first: 5, last: 30 },
      { start: at(base + 30 * MIN), count: 1, avg: 50, min: 50, max: 50, sum: 50, first: 50, last: 50 },
      { start: at(base + 90 * MIN), count: 1, avg: 70, min: 70, max: 70, sum: 70, first: 70, last: 70 },
    ]);
    await c.endAsync();
  });
});
