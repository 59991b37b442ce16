import { readFileSync } from 'node:fs';
import { describe, expect, it, inject } from 'vitest';
import { main } from '../../examples/weather-service/run.ts';
import { forecastFor } from '../../examples/weather-service/weather-service.ts';
import { usePlatform } from '../helpers/use-platform.ts';

/**
 * The weather-service example (examples/weather-service): a device asks on a custom topic, a rule calls an HTTP
 * service, the service answers through GraphQL `pub`, and the device receives the forecast. Run as the example runs.
 */
describe('the weather-service example', () => {
  const t = usePlatform('pglite');

  it('answers a device that asks for the weather, through a rule, a webhook and the pub mutation, on a running ThingQL', async () => {
    const lines: string[] = [];
    const r = await main({
      thingql: { httpUrl: t.httpUrl, mqttUrl: `mqtt://127.0.0.1:${t.platform.mqttPort}`, adminToken: t.adminToken },
      city: 'Hangzhou',
      log: (l) => lines.push(l),
    });
    expect(r.question).toEqual({ city: 'Hangzhou' });
    expect(r.answer).toEqual(forecastFor('Hangzhou'));
    expect(lines).toContain(
      `[device ${r.deviceName}] answer: Hangzhou on ${r.answer.date}: ${r.answer.condition}, ${r.answer.lowC} to ${r.answer.highC} °C`,
    );
    expect(lines.some((l) => l.startsWith(`[weather-service] ${r.deviceName} asks for Hangzhou`))).toBe(true);

    // It leaves the running ThingQL as it found it.
    const after = await t.gql(
      `query($pk: String!) { product(productKey: $pk) { productKey } rules { name } apiKeys { name revokedAt } }`,
      { pk: r.productKey },
    );
    expect(after.data.product).toBeNull();
    expect(after.data.rules).toEqual([]);
    expect(
      after.data.apiKeys.filter(
        (k: { name: string; revokedAt: string | null }) => k.name.startsWith('weather-service-') && !k.revokedAt,
      ),
    ).toEqual([]);
  });

  it('starts its own ThingQL when none is given', async () => {
    const r = await main({
      embedded: { pgliteLoadDataDir: new Blob([readFileSync(inject('pgliteTemplate'))]) },
      city: 'Reykjavik',
      log: () => {},
    });
    expect(r.answer).toEqual(forecastFor('Reykjavik'));
  });
});
