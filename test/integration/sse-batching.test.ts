/**
 * Subscriptions over Server-Sent Events write the results of one commit together: a registration of 20 devices (one
 * transaction, 20 lifecycle events) reaches an SSE subscriber in fewer HTTP chunks than events, with every event
 * whole and in order. graphql-yoga's own processor writes each event on its own (20 chunks here). A raw HTTP/1.1
 * socket reads the chunked encoding itself, so each server write is counted.
 */
import net from 'node:net';
import { beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/services-env.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { waitFor } from '../helpers/wait.ts';
import { createProduct, headCursor, registerDevices, sseFrames } from './support.ts';

const LIFECYCLE = `subscription($pk: String, $after: String) { deviceLifecycle(productKey: $pk, after: $after) { action deviceName cursor } }`;

/** POST an SSE subscription on a socket of its own; the body's chunks (chunked transfer encoding) as they come. */
function rawChunkedSse(port: number, token: string, body: string) {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: string[] = [];
  let head: string | null = null;
  let buf = Buffer.alloc(0);
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (head === null) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      head = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
    }
    for (;;) {
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      const size = Number.parseInt(buf.subarray(0, eol).toString('latin1'), 16);
      if (buf.length < eol + 2 + size + 2) return;
      chunks.push(buf.subarray(eol + 2, eol + 2 + size).toString('utf8'));
      buf = buf.subarray(eol + 2 + size + 2);
    }
  });
  socket.write(
    `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\n` +
      `Authorization: Bearer ${token}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  return { chunks, head: () => head, close: () => socket.destroy() };
}

describeEachDb('SSE subscription writes on %s', (kind) => {
  const t = usePlatform(kind);
  let pk: string;
  beforeAll(async () => {
    pk = (await createProduct(t, { name: 'SSE batches' })).productKey;
  });

  it('sends the events of one commit in fewer writes than events, each whole and in order', async () => {
    const after = await headCursor(t);
    const sse = rawChunkedSse(
      t.platform.httpPort,
      t.adminToken,
      JSON.stringify({ query: LIFECYCLE, variables: { pk, after } }),
    );
    try {
      // The stream is open once its first bytes (a comment) have come.
      await waitFor(() => sse.chunks.length, { message: 'the opening comment' });
      expect(sse.head()).toMatch(/^HTTP\/1\.1 200[\s\S]*\r\ntransfer-encoding: chunked/i);
      const names = Array.from({ length: 20 }, (_, i) => `batch-${i}`);
      await registerDevices(t, pk, names);
      const frames = () => {
        const parse = sseFrames();
        return sse.chunks.flatMap((c) => parse(c)).filter((f) => f.event === 'next');
      };
      const got = await waitFor(frames, { until: (f) => f.length >= 20, message: '20 lifecycle events' });
      expect(got.map((f) => JSON.parse(f.data).data.deviceLifecycle)).toEqual(
        names.map((deviceName) => expect.objectContaining({ action: 'CREATE', deviceName })),
      );
      // Every frame complete within its chunk: no chunk ends in the middle of an event.
      const withEvents = sse.chunks.filter((c) => c.includes('event: next'));
      for (const c of withEvents) expect(c.endsWith('\n\n')).toBe(true);
      expect(withEvents.length).toBeLessThan(names.length);
    } finally {
      sse.close();
    }
  });
});
