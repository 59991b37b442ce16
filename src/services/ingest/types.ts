import type { Tx } from '../../db/client.ts';
import type { Uplink, UplinkKind, UplinkOf } from '../../domain/alink/uplink.ts';
import type { SinkRows } from '../../events/committer.ts';
import type { NewEvent } from '../../events/types.ts';
import type { DeviceConnection } from '../ports.ts';
import type { DeviceIdentity } from '../presence.ts';

/** One device publish, classified once (domain/alink/uplink.ts), as the handlers see it. */
export interface UplinkRequest<U extends Uplink = Uplink> {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  uplink: U;
  receivedAt: Date;
  /** The platform's id of this message (the `device.message` event's messageId). */
  messageId: string;
  /** The connection it arrived on (sub-device sessions). */
  connection: DeviceConnection;
}

/** A reply or notice to send to the device once its message is durable. */
export interface Outbound {
  topic: string;
  /** A function is evaluated at send time (e.g. NTP's serverSendTime). */
  payload: Buffer | (() => Buffer);
  qos: 0 | 1;
}

/** Idempotency key of a request (Alink id + payload hash): a resend is acknowledged again but stored once. */
export interface DedupeKey {
  deviceId: number;
  key: string;
  hash: string;
}

/**
 * What a handler returns: everything goes into the SAME commit as the message's own event, and the replies go out
 * only after it. Handlers get no database handle; what must read or lock inside the commit (a state machine, a
 * generated id) is declared as `inTx` and run by the commit step.
 */
export interface Handled {
  events?: NewEvent[];
  /** Rows for the committer's batch sinks (one statement per sink per commit). */
  rows?: SinkRows;
  replies?: Outbound[];
  dedupe?: DedupeKey;
  /** Runs inside the commit, before the message's events; its events come first in the log. May run again on retry. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a step may return nothing (an async function without a return value).
  inTx?: (tx: Tx) => Promise<{ events?: NewEvent[]; replies?: Outbound[] } | void>;
  /** After the commit, before the replies go out: cache invalidation, follow-up messages built from committed state. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a step may return nothing (an async function without a return value).
  committed?: () => Promise<Outbound[] | void> | Outbound[] | void;
}

/** A handler of one uplink kind: `(device, request) -> { events, rows, replies }`; null stores the message only. */
export type UplinkHandler<K extends UplinkKind = UplinkKind> = (
  device: DeviceIdentity,
  request: UplinkRequest<UplinkOf<K>>,
) => Promise<Handled | null> | Handled | null;

/** The handler table: one entry per uplink kind, so a new kind does not compile without its handler. */
export type UplinkHandlers = { [K in UplinkKind]: UplinkHandler<K> };
