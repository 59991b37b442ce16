/**
 * Ports: how services reach devices and their connections without knowing the broker (architecture.md habit 2).
 * The broker implements them (broker/publisher.ts, broker/session-control.ts); the composition root hands them to
 * services at construction.
 */
import type { CachedDevice } from './device-auth.ts';
import type { OfflineReason } from './presence.ts';

/** Send to a device (its downstream topics); resolves once handed to the broker. */
export interface DevicePublisher {
  publish(topic: string, payload: Buffer, qos: 0 | 1): Promise<void>;
}

/** What services may do to the connections held by this instance. */
export interface SessionControl {
  /** Close the device's connection held here, recording `reason` (D6 takeover, D15 kicks). True when one was here. */
  kick(productKey: string, deviceName: string, reason: Extract<OfflineReason, 'KICKED' | 'TAKEN_OVER'>): boolean;
  /** Close it only if its connection epoch is below `epoch` (a newer login elsewhere, D6). */
  kickOlderThan(productKey: string, deviceName: string, epoch: number): boolean;
  /** The connection a device logged in with here, if any. */
  connectionOf(productKey: string, deviceName: string): DeviceConnection | undefined;
  /** Every device connection held here. */
  connections(): DeviceConnection[];
  /** The (gateway) connections here over which this device is logged in as a sub-device. */
  carrying(productKey: string, deviceName: string): DeviceConnection[];
}

/** The connection a publish arrived on, as services may use it (gateway sub-device sessions, §1.7). */
export interface DeviceConnection {
  /** The device that logged in on this connection (a gateway carries its sub-devices' traffic too). */
  device: CachedDevice;
  clientIp: string | null;
  /** Sub-devices logged in over this (gateway) connection, by `deviceKey(pk, dn)`. */
  readonly subDevices: Map<string, { device: CachedDevice; epoch: number }>;
  /**
   * Subscribe this connection to a (sub-)device's automatic downstream topics (D19, D22); resolves once they are in
   * place (a failure is logged, not thrown).
   */
  subscribeDevice(productKey: string, deviceName: string): Promise<void>;
  /**
   * A (sub-)device no longer goes through this connection (logout, topology removed, disabled, deleted, taken over):
   * its filters are unsubscribed at once and the connection's cached ACL decisions for its topics are forgotten, so
   * nothing of it is delivered, queued or accepted any more. Also for one that was only bound.
   */
  releaseDevice(productKey: string, deviceName: string): void;
  /**
   * Send a platform reply (`isReplyTopic`) to this connection alone, at once (broker/deliver.ts): its subscriptions
   * and ACL decide, as for any delivery. False when the connection is gone (the reply may then go through the broker,
   * to a newer connection of the device).
   */
  reply(topic: string, payload: Buffer, qos: 0 | 1): boolean;
}

export const deviceKey = (pk: string, dn: string): string => `${pk}\u0000${dn}`;
