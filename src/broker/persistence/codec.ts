/**
 * Packets <-> rows. A row holds `packet` (every field but the payload, as JSON), `payload` (bytea, byte for byte) and
 * `payload_is_string` (aedes lets string payloads through as strings; they come back as strings). Buffers elsewhere
 * in the packet (MQTT 5 `correlationData`, `authenticationData`) are tagged `{ "$bytes": base64 }` in the JSON.
 */

/** A packet as aedes hands it over: mqtt-packet fields plus aedes' brokerId/brokerCounter; kept loose on purpose. */
export type Packet = Record<string, unknown> & {
  cmd?: string;
  topic?: string;
  payload?: unknown;
  qos?: number;
  messageId?: number;
  brokerId?: string | null;
  brokerCounter?: number;
};

export interface EncodedPacket {
  packet: Record<string, unknown>;
  payload: Buffer | null;
  payloadIsString: boolean;
}

export interface PacketRow {
  packet: unknown;
  payload: Uint8Array | null;
  payloadIsString: boolean;
}

const BYTES = '$bytes';

function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return { [BYTES]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toJson(v)));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined && typeof v !== 'function') out[k] = toJson(v);
    return out;
  }
  return value;
}

function fromJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    const tagged = (value as Record<string, unknown>)[BYTES];
    if (keys.length === 1 && typeof tagged === 'string') return Buffer.from(tagged, 'base64');
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = fromJson((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

export function toBuffer(bytes: Uint8Array): Buffer {
  // PGlite returns bytea as Uint8Array, postgres.js as Buffer; aedes and mqtt-packet expect Buffers.
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** `omit`: fields kept in their own columns (e.g. the outgoing queue's messageId). */
export function encodePacket(p: Packet, omit: readonly string[] = []): EncodedPacket {
  const packet: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'payload' || v === undefined || typeof v === 'function' || omit.includes(k)) continue;
    packet[k] = toJson(v);
  }
  const raw = p.payload;
  if (raw === undefined || raw === null) return { packet, payload: null, payloadIsString: false };
  if (typeof raw === 'string') return { packet, payload: Buffer.from(raw, 'utf8'), payloadIsString: true };
  if (raw instanceof Uint8Array) return { packet, payload: toBuffer(raw), payloadIsString: false };
  throw new TypeError(`unsupported payload type ${typeof raw}`);
}

export function decodePacket(row: PacketRow): Packet {
  // Raw `execute` on postgres.js through drizzle leaves json as text; the query builder and PGlite parse it.
  const json = typeof row.packet === 'string' ? (JSON.parse(row.packet) as unknown) : row.packet;
  const packet = fromJson(json) as Packet;
  if (row.payload !== null && row.payload !== undefined) {
    const bytes = toBuffer(row.payload);
    packet.payload = row.payloadIsString ? bytes.toString('utf8') : bytes;
  }
  return packet;
}

export function payloadLength(p: Packet): number {
  const raw = p.payload;
  if (typeof raw === 'string' || raw instanceof Uint8Array) return raw.length;
  return 0;
}

/**
 * The copy aedes' memory persistence queues: `new Packet(original)` of aedes-packet 4.0.1 (packet.js), which keeps
 * only these fields. Written out here so the persistence needs no direct dependency on aedes-packet.
 */
export function queuedCopy(original: Packet): Packet {
  const p: Packet = {};
  for (const k of ['clientId', 'nl', 'properties', 'messageExpiry']) if (Object.hasOwn(original, k)) p[k] = original[k];
  p.cmd = original.cmd || 'publish';
  p.brokerId = original.brokerId || undefined;
  p.brokerCounter = original.brokerCounter || 0;
  p.topic = original.topic;
  p.payload = original.payload || Buffer.alloc(0);
  p.qos = original.qos || 0;
  p.retain = original.retain || false;
  p.dup = original.dup || false;
  // [MQTT-2.3.1-5]: a packet identifier only for QoS > 0 (and non-PUBLISH packets).
  if (p.qos > 0 || p.cmd !== 'publish') p.messageId = undefined;
  return p;
}
