import type { Client } from 'aedes';

/** Room for a packet's topic (at most 65,535 bytes plus its length), packet id and MQTT 5 properties. */
export const PACKET_OVERHEAD = 64 * 1024;

interface PacketParser {
  packet: { length: number };
  _parseLength(): boolean;
  _emitError(err: Error): void;
}

/**
 * alink-protocol.md D18: larger packets are refused by the broker. aedes 1.2.0 has no packet size option, and its
 * parser (mqtt-packet 9) buffers a whole packet before any hook sees it, so a device announcing 200 MB would be
 * buffered to the end. This refuses a packet as soon as its Remaining Length ([MQTT-2.2.3]) is parsed: the parser
 * errors, and aedes closes the connection as for any malformed packet. `authorizePublish` still applies the exact
 * payload limit to what gets through.
 */
export function limitPacketSize(client: Client, maxRemainingLength: number): void {
  const parser = (client as unknown as { _parser?: PacketParser })._parser;
  if (!parser || typeof parser._parseLength !== 'function') return; // another aedes/mqtt-packet: the hook limit only
  const parseLength = parser._parseLength;
  parser._parseLength = function limitedParseLength(this: PacketParser): boolean {
    if (!parseLength.call(this)) return false;
    if (this.packet.length <= maxRemainingLength) return true;
    this._emitError(new Error(`packet of ${this.packet.length} bytes is larger than ${maxRemainingLength} (D18)`));
    return false;
  };
}
