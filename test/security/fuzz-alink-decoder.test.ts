import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canPublish, canSubscribe } from '../../src/domain/alink/acl.ts';
import { decodeReply, decodeRequest, encodeReply } from '../../src/domain/alink/envelope.ts';
import { MAX_JSON_DEPTH, parseBoundedJson } from '../../src/domain/alink/json-limits.ts';
import { filterOwner, topicOwner } from '../../src/domain/alink/owner.ts';
import { parseTopic, sysTopic, customTopic, extSessionTopic, otaTopic } from '../../src/domain/alink/topics.ts';

/**
 * Property-based fuzzing of the Alink decoder (envelope.ts, json-limits.ts) and topic parsing (topics.ts, owner.ts,
 * acl.ts): whatever a device sends, decoding answers a value or a 460 error and never throws; what it accepts
 * round-trips. `FUZZ_RUNS` sets the runs per property (`npm run fuzz` uses 100,000; `npm test` a few hundred).
 */
const numRuns = Number(process.env.FUZZ_RUNS ?? 300);
/** Long runs (`npm run fuzz`) take longer than the default test timeout: the budget scales with the run count. */
const timeout = Math.max(30_000, numRuns * 20);
const run = (p: fc.IProperty<any> | fc.IAsyncProperty<any>) => fc.assert(p as fc.IProperty<unknown>, { numRuns });

/** Identity levels as the registry allows them (no `/`, `+`, `#`). */
const level = fc.stringMatching(/^[A-Za-z0-9_\-@.:]{1,16}$/);
/** Text with every kind of character, NUL and lone surrogates included. */
const anyText = fc.string({ unit: 'binary', maxLength: 200 });
/** JSON texts near the Alink shape: ids, sys.ack, params of any JSON, the odd field broken. */
const envelopeLike = fc
  .record(
    {
      id: fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.jsonValue()),
      version: fc.oneof(fc.constant('1.0'), fc.jsonValue()),
      sys: fc.oneof(fc.record({ ack: fc.oneof(fc.constantFrom(0, 1, '0', '1'), fc.jsonValue()) }), fc.jsonValue()),
      params: fc.jsonValue(),
      method: fc.oneof(fc.constant('thing.event.property.post'), fc.string()),
      code: fc.oneof(fc.integer(), fc.string(), fc.jsonValue()),
      data: fc.jsonValue(),
    },
    { requiredKeys: [] },
  )
  .map((o) => JSON.stringify(o));

describe('Alink decoder fuzzing', () => {
  it(
    'never throws on arbitrary bytes: a request or a 460',
    () => {
      run(
        fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
          const r = decodeRequest(Buffer.from(bytes));
          if (!r.ok) expect(r.error.code).toBe(460);
          const reply = decodeReply(Buffer.from(bytes));
          if (!reply.ok) expect(reply.error.code).toBe(460);
        }),
      );
    },
    timeout,
  );

  it(
    'never throws on JSON texts shaped like Alink messages, truncated or not',
    () => {
      run(
        fc.property(envelopeLike, fc.nat(), fc.boolean(), (text, cut, truncate) => {
          const body = truncate ? text.slice(0, cut % (text.length + 1)) : text;
          const r = decodeRequest(Buffer.from(body));
          if (r.ok) {
            // What it accepts it can answer: the reply is JSON and echoes the id exactly (D11).
            const out = JSON.parse(
              encodeReply({ id: r.value.id, idType: r.value.idType, code: 200, data: {} }).toString(),
            );
            if (r.value.idType === 'string') expect(out.id).toBe(r.value.id);
            else expect(typeof out.id === 'number' || typeof out.id === 'string').toBe(true);
          } else {
            expect(r.error.code).toBe(460);
          }
          decodeReply(Buffer.from(body));
        }),
      );
    },
    timeout,
  );

  it(
    'parses what JSON.parse parses within the depth bound, and refuses deeper nesting and \\u0000',
    () => {
      run(
        fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => {
          const text = JSON.stringify(value);
          const r = parseBoundedJson(text);
          if (text.includes('\\u0000')) expect(r.ok).toBe(false);
          else expect(r).toEqual({ ok: true, value: JSON.parse(text) });
        }),
      );
      run(
        fc.property(
          fc.integer({ min: MAX_JSON_DEPTH + 1, max: 5000 }),
          fc.constantFrom('[', '{"a":'),
          (depth, open) => {
            const close = open === '[' ? ']' : '}';
            const r = decodeRequest(Buffer.from(`{"id":"1","params":${open.repeat(depth)}1${close.repeat(depth)}}`));
            expect(r.ok).toBe(false);
          },
        ),
      );
    },
    timeout,
  );

  it(
    'never throws on arbitrary topics and filters; topics it builds parse back to their device',
    () => {
      run(
        fc.property(anyText, (s) => {
          const t = parseTopic(s);
          expect(typeof t.kind).toBe('string');
          topicOwner(s);
          filterOwner(s);
          const id = { productKey: 'a1FVx', deviceName: 'dev1' };
          canPublish(id, s, [{ topicShortName: 'get', operation: 'SUB' }]);
          canSubscribe(id, s, [{ topicShortName: '#', operation: 'ALL' }]);
        }),
      );
      run(
        fc.property(level, level, fc.array(level, { minLength: 1, maxLength: 5 }), (pk, dn, rest) => {
          const suffix = rest.join('/');
          expect(parseTopic(sysTopic(pk, dn, suffix))).toEqual({
            kind: 'sys',
            productKey: pk,
            deviceName: dn,
            path: rest,
          });
          expect(topicOwner(customTopic(pk, dn, suffix))).toEqual({ productKey: pk, deviceName: dn });
          expect(topicOwner(extSessionTopic(pk, dn, suffix))).toEqual({ productKey: pk, deviceName: dn });
          expect(topicOwner(otaTopic('inform', pk, dn))).toEqual({ productKey: pk, deviceName: dn });
          // A device may never publish or subscribe into another device's namespace, whatever the levels.
          const other = { productKey: pk, deviceName: `${dn}x` };
          expect(canPublish(other, sysTopic(pk, dn, suffix), [])).toBe(false);
          expect(canSubscribe(other, sysTopic(pk, dn, '#'), [])).toBe(false);
        }),
      );
    },
    timeout,
  );
});
