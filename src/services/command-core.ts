/**
 * What every command shares (commands.ts, thing-commands.ts): payload decoding, RRPC bounds, the device and product
 * look-ups with their access checks, the command record, and the round trip that waits for a device's reply.
 */
import { performance } from 'node:perf_hooks';
import { DomainError } from '../domain/errors.ts';
import { findDevicesByName } from '../db/repositories/commands.ts';
import type { DeviceRecord } from '../db/records.ts';
import type { NewEvent } from '../events/types.ts';
import { assertProductVisible, requireRole, type Principal } from './access.ts';
import type { CommandReply } from './command-replies.ts';
import type { CoreServiceDeps } from './core-deps.ts';
import type { ProductInfo } from './product-cache.ts';

export type PayloadEncoding = 'UTF8' | 'BASE64';
export type RrpcCode = 'SUCCESS' | 'TIMEOUT' | 'OFFLINE' | 'HALFCONN' | 'UNKNOWN';

/** alink-protocol.md §5.1 / §7: RRPC timeout 1000-8000 ms; broadcast body at most 64 KB. */
export const RRPC_TIMEOUT = { min: 1000, max: 8000 } as const;
export const MAX_BROADCAST = 64 * 1024;

/** The caller's `timeoutMs` (default 5000), refused (TIMEOUT_OUT_OF_RANGE) outside RRPC_TIMEOUT. */
export function rrpcTimeout(timeoutMs: number | null | undefined): number {
  const ms = timeoutMs ?? 5000;
  if (!Number.isInteger(ms) || ms < RRPC_TIMEOUT.min || ms > RRPC_TIMEOUT.max) {
    throw new DomainError('TIMEOUT_OUT_OF_RANGE', `timeoutMs must be ${RRPC_TIMEOUT.min} to ${RRPC_TIMEOUT.max}`, [
      'input',
      'timeoutMs',
    ]);
  }
  return ms;
}

/** The service identifier of an Alink service request (`method: thing.service.${id}`, §3.7), or null. */
export function alinkServiceOf(payload: Buffer): string | null {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
  const method = (body as { method?: unknown } | null)?.method;
  const m = typeof method === 'string' ? /^thing\.service\.([A-Za-z0-9_]+)$/.exec(method) : null;
  return m && m[1] !== 'property' ? m[1]! : null;
}

export function decodePayload(payload: string, encoding: PayloadEncoding | null | undefined, maxBytes: number): Buffer {
  let bytes: Buffer;
  if (encoding === 'BASE64') {
    const clean = payload.replace(/\s/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) {
      throw new DomainError('INVALID_PAYLOAD', 'payload is not valid base64', ['input', 'payload']);
    }
    bytes = Buffer.from(clean, 'base64');
  } else {
    bytes = Buffer.from(payload, 'utf8');
  }
  if (bytes.length > maxBytes)
    throw new DomainError('PAYLOAD_TOO_LARGE', `payload is ${bytes.length} bytes; at most ${maxBytes}`, [
      'input',
      'payload',
    ]);
  return bytes;
}

/**
 * The target devices of commands, read fresh (enabled, online) but batched the way the group commit is: the lookups
 * that arrive in one turn of the event loop go together, one query per product, after that turn's I/O callbacks
 * (`setImmediate`), and the lookups that arrive while a query is in flight go together when it returns. A thousand
 * concurrent RRPC calls are otherwise a thousand single-row queries queued on the database ahead of their own commits
 * (on the embedded database most of a call's cost), and that wait counts against each call's `timeoutMs`. Waiting
 * for the end of the turn matters where a query completes within it: the embedded database answers in the same turn,
 * so without it every HTTP request (one socket read each) would find no query in flight and query alone. A lone call
 * waits for one `setImmediate`.
 */
function createDeviceLookup(db: CoreServiceDeps['database']['db']) {
  type Waiter = { resolve: (d: DeviceRecord | null) => void; reject: (e: unknown) => void };
  let pending = new Map<string, Map<string, Waiter[]>>();
  let running = false;

  async function run(): Promise<void> {
    while (pending.size > 0) {
      const batch = pending;
      pending = new Map();
      for (const [productKey, byName] of batch) {
        try {
          const found = await findDevicesByName(db, productKey, [...byName.keys()]);
          for (const [name, waiters] of byName) for (const w of waiters) w.resolve(found.get(name) ?? null);
        } catch (err) {
          for (const waiters of byName.values()) for (const w of waiters) w.reject(err);
        }
      }
    }
    running = false;
  }

  return (productKey: string, deviceName: string): Promise<DeviceRecord | null> =>
    new Promise((resolve, reject) => {
      let byName = pending.get(productKey);
      if (!byName) pending.set(productKey, (byName = new Map()));
      const waiters = byName.get(deviceName);
      if (waiters) waiters.push({ resolve, reject });
      else byName.set(deviceName, [{ resolve, reject }]);
      if (!running) {
        running = true;
        setImmediate(() => void run());
      }
    });
}

/** Shared steps of every command: find the target, record the command (durably, before sending), send. */
export function createCommandCore(deps: CoreServiceDeps) {
  const db = deps.database.db;

  async function product(p: Principal, productKey: string): Promise<ProductInfo> {
    requireRole(p, 'OPERATOR');
    assertProductVisible(p, productKey);
    const info = await deps.productCache.get(productKey);
    if (!info)
      throw new DomainError('PRODUCT_NOT_FOUND', `product ${productKey} does not exist`, ['input', 'productKey']);
    return info;
  }

  const lookup = createDeviceLookup(db);

  async function device(
    productKey: string,
    deviceName: string,
    field: string[] = ['input', 'deviceName'],
  ): Promise<DeviceRecord> {
    const d = await lookup(productKey, deviceName);
    if (!d)
      throw new DomainError('DEVICE_NOT_FOUND', `device ${deviceName} does not exist in product ${productKey}`, field);
    if (!d.enabled) throw new DomainError('DEVICE_DISABLED', `device ${deviceName} is disabled`, field);
    return d;
  }

  /** Record the command (and its `command.sent` event) in the log; resolves once committed. */
  async function record(c: {
    messageId: string;
    kind: string;
    productKey: string;
    deviceName: string | null;
    topic: string;
    identifier?: string | null;
    callType?: string | null;
    input?: unknown;
    status: 'SENT' | 'OFFLINE';
    extraEvents?: NewEvent[];
  }): Promise<void> {
    const sent = {
      messageId: c.messageId,
      kind: c.kind,
      productKey: c.productKey,
      deviceName: c.deviceName,
      topic: c.topic,
      identifier: c.identifier ?? null,
    };
    const event: NewEvent = {
      type: 'command.sent',
      productKey: c.productKey,
      deviceName: c.deviceName,
      data: { ...sent, status: c.status },
    };
    await deps.committer.commit({
      build: () => ({
        events: [event, ...(c.extraEvents ?? [])],
        rows: {
          commands: [
            {
              ...sent,
              callType: c.callType ?? null,
              input: c.input === undefined ? null : c.input,
              status: c.status,
            },
          ],
        },
      }),
    });
  }

  function timedOut(messageId: string): void {
    deps.committer
      .commit({ build: () => ({ events: [], rows: { commandTimeouts: [messageId] } }) })
      .catch((err: unknown) => deps.logger.warn({ err }, 'could not record a command timeout'));
  }

  /**
   * Send a request and wait for the device's answer on the RRPC topic (system or custom, D12/D13), until
   * `startedAt + timeoutMs`: the caller's clock starts when the call does, so the lookups and the durable record of the
   * command before sending are inside `timeoutMs`, and TIMEOUT comes when the caller expects it (§5.1 `Timeout`).
   */
  async function roundTrip(
    d: DeviceRecord,
    messageId: string,
    topic: string,
    payload: Buffer,
    deadline: { startedAt: number; timeoutMs: number },
    rec: Omit<Parameters<typeof record>[0], 'messageId' | 'status' | 'topic' | 'productKey' | 'deviceName'>,
  ): Promise<{ rrpcCode: RrpcCode; reply: CommandReply | null }> {
    const left = Math.max(0, deadline.startedAt + deadline.timeoutMs - performance.now());
    const wait = deps.tracker.wait(messageId, d.productKey, d.deviceName, left);
    try {
      await record({ ...rec, messageId, productKey: d.productKey, deviceName: d.deviceName, topic, status: 'SENT' });
      await deps.publisher.publish(topic, payload, 0);
    } catch (err) {
      deps.tracker.cancel(messageId);
      throw err;
    }
    const reply = await wait;
    if (!reply) {
      timedOut(messageId);
      return { rrpcCode: 'TIMEOUT', reply: null };
    }
    return { rrpcCode: 'SUCCESS', reply };
  }

  return { product, device, record, roundTrip };
}
