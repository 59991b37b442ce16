import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { main } from '../../examples/alibaba-amqp-consumer/run.ts';

/** examples/alibaba-amqp-consumer: Alibaba's Node sample consumer, unchanged but for the endpoint, run as the example runs. */
describe('the Alibaba AMQP consumer example', () => {
  it('receives the device status and property post through a consumer group made in GraphQL', async () => {
    const lines: string[] = [];
    const r = await main({
      embedded: { pgliteLoadDataDir: new Blob([readFileSync(inject('pgliteTemplate'))]) },
      log: (l) => lines.push(l),
    });
    const [status, post] = r.messages;
    expect(status!.topic).toBe(`/as/mqtt/status/${r.productKey}/${r.deviceName}`);
    expect(JSON.parse(status!.content)).toMatchObject({
      status: 'online',
      productKey: r.productKey,
      deviceName: r.deviceName,
    });
    expect(post!.topic).toBe(`/${r.productKey}/${r.deviceName}/thing/event/property/post`);
    expect(JSON.parse(post!.content)).toMatchObject({ items: { Temperature: { value: 21.5 } } });
    expect(Number(post!.messageId)).toBeGreaterThan(Number(status!.messageId));
    expect(lines.some((l) => l.startsWith(`[consumer] ${post!.messageId} /${r.productKey}/`))).toBe(true);
  });
});
