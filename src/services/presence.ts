import type { DeviceRecord } from '../db/records.ts';
import {
  deleteInstancesSilentSince,
  markInstanceStopped,
  markOfflineAtEpoch,
  markOfflineOfDeadInstances,
  markOfflineOnInstance,
  markOnline,
  type OfflineInput,
  type OfflineTransition,
  type OnlineInput,
  type OnlineTransition,
  markOtherInstancesStopped,
  recordHeartbeat,
  registerInstance,
} from '../db/repositories/presence.ts';
import type { GroupCommitter } from '../events/committer.ts';
import type { NewEvent } from '../events/types.ts';
import type { ServiceDeps } from './deps.ts';
import type { RrpcForm } from '../db/records.ts';

/** alink-protocol.md D15. */
export type OfflineReason =
  | 'CLIENT_DISCONNECT'
  | 'KEEPALIVE_TIMEOUT'
  | 'TAKEN_OVER'
  | 'KICKED'
  | 'SERVER_SHUTDOWN'
  | 'SERVER_RESTART';

export interface DeviceIdentity {
  id: number;
  iotId: string;
  productKey: string;
  deviceName: string;
}

const HEARTBEAT_MS = 10_000;
/** The committer step of `connect`: the logins of one commit are marked online by one statement. */
const ONLINE_STEP = 'presence.online';
/** The committer step of `disconnect`. */
const OFFLINE_STEP = 'presence.offline';
/** An instance silent this long is presumed dead; its devices are set offline (SERVER_RESTART). */
const DEAD_AFTER_MS = 35_000;

/** §6.3 status body plus iotId, connectionEpoch and reason (D15). */
export function statusEvent(
  status: 'online' | 'offline',
  d: DeviceIdentity,
  epoch: number,
  clientIp: string | null,
  reason: OfflineReason | null,
  at: Date,
): NewEvent {
  return {
    type: 'device.status',
    productKey: d.productKey,
    deviceName: d.deviceName,
    data: {
      status,
      productKey: d.productKey,
      deviceName: d.deviceName,
      iotId: d.iotId,
      time: at.getTime(),
      lastTime: at.getTime(),
      utcTime: at.toISOString(),
      utcLastTime: at.toISOString(),
      clientIp,
      connectionEpoch: epoch,
      reason,
    },
  };
}

/**
 * Presence converges (architecture.md §1): every connect increments the device's connection epoch, and a disconnect
 * counts only if its epoch is still the current one, so a stale disconnect (takeover, fast reconnect, a late close
 * on another instance) never marks an online device offline. Status changes are committed with their events through
 * the group committer, and a device is told CONNACK only after its ONLINE is durable.
 */
export function createPresenceService(deps: ServiceDeps, committer: GroupCommitter) {
  const { database, instanceId, logger } = deps;
  const db = database.db;
  committer.step(ONLINE_STEP, (tx, inputs) => markOnline(tx, inputs as OnlineInput[]));
  committer.step(OFFLINE_STEP, (tx, inputs) => markOfflineAtEpoch(tx, inputs as OfflineInput[]));
  let heartbeat: NodeJS.Timeout | null = null;

  /** The OFFLINE events of devices that a `markOffline*` call (at `now`) set offline. */
  const offlineEvents = (rows: DeviceRecord[], reason: OfflineReason, now: Date): NewEvent[] =>
    rows.map((r) => statusEvent('offline', r, r.connectionEpoch, r.clientIp, reason, now));

  return {
    /**
     * Mark online with a new epoch; returns it. A device already online elsewhere is taken over (D6). `rrpcForm` (D21,
     * from the session's ClientId) is stored with the presence so every instance knows how to reach the session. With
     * `secretEnc`, the login counts only if the device is still enabled and still has the secret it was verified with
     * (null otherwise): a disable or secret reset committed while the login was in flight wins.
     */
    async connect(
      d: DeviceIdentity,
      clientIp: string | null,
      session: { rrpcForm?: RrpcForm; secretEnc?: string } = {},
    ): Promise<{ epoch: number; activatedNow: boolean } | null> {
      const rrpcForm: RrpcForm = session.rrpcForm ?? 'sys';
      let result: { epoch: number; activatedNow: boolean } | null = null;
      let now = new Date();
      // One UPDATE for every login of the commit (db/repositories/presence.ts markOnline, events/commit-steps.ts).
      await committer.commit({
        step: {
          name: ONLINE_STEP,
          key: String(d.id),
          input: (): OnlineInput => {
            now = new Date();
            return { id: d.id, instanceId, clientIp, rrpcForm, at: now, secretEnc: session.secretEnc ?? null };
          },
          events: (transition) => {
            const row = transition as OnlineTransition | null;
            result = row && { epoch: row.epoch, activatedNow: row.activatedNow };
            if (!row) return [];
            const events: NewEvent[] = [];
            if (row.wasOnline) events.push(statusEvent('offline', d, row.oldEpoch, row.oldIp, 'TAKEN_OVER', now));
            events.push(statusEvent('online', d, row.epoch, clientIp, null, now));
            return events;
          },
        },
      });
      return result;
    },

    /** Mark offline only if `epoch` is still the device's current connection. */
    async disconnect(
      d: DeviceIdentity,
      epoch: number,
      reason: OfflineReason,
      clientIp: string | null = null,
    ): Promise<boolean> {
      let now = new Date();
      // One UPDATE for every disconnect of the commit, as for logins.
      const { events: stored } = await committer.commit({
        step: {
          name: OFFLINE_STEP,
          key: String(d.id),
          input: (): OfflineInput => {
            now = new Date();
            return { id: d.id, epoch, at: now };
          },
          events: (transition) => {
            const t = transition as OfflineTransition;
            if (t.device)
              return [statusEvent('offline', t.device, t.device.connectionEpoch, t.device.clientIp, reason, now)];
            // A deleted device's live session is KICKED after its row is gone: there is nothing left to update, but
            // its status subscribers must still see the OFFLINE that closes its last ONLINE (D15). Only the kicked
            // (current) session gets here with KICKED; stale ones end as TAKEN_OVER and record nothing.
            if (reason !== 'KICKED' || t.exists) return [];
            return [statusEvent('offline', d, epoch, clientIp, reason, now)];
          },
        },
      });
      return stored.length > 0;
    },

    /**
     * At start: register this instance, and set offline every device left online by an instance that is no longer
     * alive (crash or restart: SERVER_RESTART). Then keep a heartbeat and sweep for dead peers.
     */
    async start(): Promise<void> {
      await registerInstance(db, instanceId);
      if (database.kind === 'pglite') {
        // The embedded database is opened by one process at a time (PGlite is single-process), so every other
        // instance recorded in it has ended, however recent its last heartbeat: a crash or SIGKILL leaves no
        // stoppedAt. Waiting DEAD_AFTER_MS for it would leave its devices ONLINE for half a minute after a restart.
        await markOtherInstancesStopped(db, instanceId);
      }
      await this.sweep();
      heartbeat = setInterval(() => {
        recordHeartbeat(db, instanceId)
          .then(() => this.sweep())
          .catch((err: unknown) => logger.warn({ err }, 'presence heartbeat failed'));
      }, HEARTBEAT_MS);
      heartbeat.unref();
    },

    async sweep(): Promise<number> {
      const cutoff = new Date(Date.now() - DEAD_AFTER_MS);
      const stored = await committer.transact(async (tx) => {
        const now = new Date();
        return offlineEvents(await markOfflineOfDeadInstances(tx, cutoff, now), 'SERVER_RESTART', now);
      });
      if (stored.length > 0) logger.info({ devices: stored.length }, 'devices of a stopped instance set offline');
      // Forget instances that stopped long ago.
      await deleteInstancesSilentSince(db, new Date(Date.now() - 24 * 3600_000));
      return stored.length;
    },

    /** Graceful shutdown: this instance's devices go offline with SERVER_SHUTDOWN (after the broker stopped). */
    async stop(): Promise<void> {
      if (heartbeat) clearInterval(heartbeat);
      await committer.transact(async (tx) => {
        const now = new Date();
        return offlineEvents(await markOfflineOnInstance(tx, instanceId, now), 'SERVER_SHUTDOWN', now);
      });
      await markInstanceStopped(db, instanceId);
    },
  };
}

export type PresenceService = ReturnType<typeof createPresenceService>;
