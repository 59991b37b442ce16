import type { AedesOptions, Client } from 'aedes';
import { clientFlags } from '../domain/auth/client-flags.ts';
import { parseUsername } from '../domain/auth/client-id.ts';
import { CONNACK, connackForLoginFailure, connackForRegistration, type ConnackRefusal } from '../domain/mqtt-codes.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { DeviceAuthService } from '../services/device-auth.ts';
import type { PresenceService } from '../services/presence.ts';
import { deviceConnection, kickClient, type ReplyDelivery } from './session-control.ts';
import { attachSession, type Session, type SessionRegistry } from './sessions.ts';

/** aedes answers CONNACK with the error's `returnCode`. */
const authError = (returnCode: ConnackRefusal, message: string) => Object.assign(new Error(message), { returnCode });

function clientIpOf(client: Client): string | null {
  const raw = (client.req?.socket?.remoteAddress ?? (client.conn as { remoteAddress?: string }).remoteAddress) || null;
  return raw?.startsWith('::ffff:') ? raw.slice(7) : raw;
}

/**
 * CONNECT: who the device is (alink-protocol.md §1, D1 CONNACK codes, D6 takeover). `onLogin` is told of each
 * accepted device connection (the caller watches its close).
 */
export function createAuthenticator(deps: {
  logger: Logger;
  metrics: Metrics;
  deviceAuth: DeviceAuthService;
  presence: PresenceService;
  sessions: SessionRegistry;
  deliverReply: ReplyDelivery;
  onLogin: (client: Client) => void;
}) {
  const { logger: log, metrics, deviceAuth, presence, sessions } = deps;
  const rawClientIds = new WeakMap<Client, string>();

  /**
   * Sessions belong to the device, not to the ClientId string: the Link SDK puts a fresh `timestamp` in its ClientId
   * at every start, so keyed by the whole ClientId its persistent session (and the QoS 1 commands queued for it) would
   * be lost on each restart. Alink logins (a ClientId with the `|...|` block) are keyed by `${pk}&${dn}`; a second
   * login of the same device then also takes over the first as [MQTT-3.1.4-2] says (D6). The raw ClientId is kept
   * for the signature check.
   */
  const preConnect: NonNullable<AedesOptions['preConnect']> = (client, packet, done) => {
    const raw = packet.clientId ?? '';
    rawClientIds.set(client, raw);
    const user = parseUsername(packet.username ?? '');
    if (user.ok && raw.includes('|')) packet.clientId = `${user.value.productKey}&${user.value.deviceName}`;
    done(null, true);
  };

  async function login(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<[Error | null, boolean] | null> {
    const rawClientId = rawClientIds.get(client) ?? client.id;
    // Needed only for this check: not held for the connection's life.
    rawClientIds.delete(client);
    const reg = deviceAuth.parseRegisterConnect(rawClientId, username, password);
    if (reg && 'unsupported' in reg)
      return [authError(CONNACK.BAD_USERNAME_OR_PASSWORD, `authType ${reg.unsupported} not supported`), false];
    if (reg) {
      const r = await deviceAuth.register(reg);
      if (!r.ok) {
        log.info({ code: r.code, productKey: reg.productKey }, 'dynamic registration refused');
        metrics.mqttLogins.inc({ result: 'register_refused' });
        // Past the product's registration budget (docs/security-device.md): "server unavailable", try later (mqtt-codes.ts).
        return [authError(connackForRegistration(r.code), r.message), false];
      }
      const device = (await deviceAuth.lookup(r.productKey, r.deviceName))!;
      attachSession(client, {
        device,
        clientIp: clientIpOf(client),
        epoch: -1,
        reason: null,
        registration: r,
        ended: false,
        ingestTail: Promise.resolve(),
      });
      metrics.mqttLogins.inc({ result: 'registered' });
      return [null, true];
    }

    // Failed logins are budgeted per source address and per device (services/login-limits.ts): no password guessing.
    const clientIp = clientIpOf(client);
    const result = await deviceAuth.login(rawClientId, username, password, clientIp);
    if (!result.ok) {
      metrics.mqttLogins.inc({
        result:
          result.failure === 'DISABLED' ? 'disabled' : result.failure === 'THROTTLED' ? 'throttled' : 'bad_credentials',
      });
      log.debug({ why: result.why }, 'login refused');
      const message =
        result.failure === 'THROTTLED'
          ? 'too many failed logins: try again later'
          : result.failure === 'DISABLED'
            ? 'not authorized'
            : 'bad user name or password';
      return [authError(connackForLoginFailure(result.failure), message), false];
    }
    // D21: the ClientId says how this session takes sync services and RRPC (kept with presence, for every instance).
    // Guarded: a disable or secret reset committed while this login was in flight refuses it.
    const connected = await presence.connect(result.device, clientIp, {
      rrpcForm: clientFlags(result.params).extRrpc ? 'ext' : 'sys',
      secretEnc: result.device.secretEnc,
    });
    if (!connected) return [authError(CONNACK.BAD_USERNAME_OR_PASSWORD, 'bad user name or password'), false]; // deleted, disabled or secret reset meanwhile
    // D22: resolved once the platform-side subscriptions are in place (broker.ts clientReady); publishes wait for it.
    let subscribedNow!: () => void;
    const subscribed = { promise: new Promise<void>((r) => (subscribedNow = r)), resolve: () => subscribedNow() };
    const session: Session = {
      device: result.device,
      clientIp,
      epoch: connected.epoch,
      reason: null,
      registration: null,
      ended: false,
      ingestTail: Promise.resolve(),
      subscribed,
    };
    session.connection = deviceConnection(client, session, log, sessions, deps.deliverReply);
    attachSession(client, session);
    const replaced = sessions.claim(client);
    if (replaced === client) {
      // A newer login of the same device committed first: this one lost the race. Presence already recorded
      // this epoch as TAKEN_OVER (the newer connect did), so there is nothing to record on close.
      session.reason = 'TAKEN_OVER';
      session.ended = true;
      metrics.mqttLogins.inc({ result: 'taken_over' });
      return [authError(CONNACK.NOT_AUTHORIZED, 'superseded by a newer connection'), false];
    }
    // D6: the newer login wins even if its own socket is already gone; presence has recorded the older epoch as
    // TAKEN_OVER, so the older connection must not stay open behind it.
    if (replaced) kickClient(replaced, 'TAKEN_OVER');
    if (client.closed) {
      // The socket went away while we were committing (aedes ignores a late done()): record it at once.
      session.ended = true;
      sessions.release(client);
      await presence.disconnect(result.device, connected.epoch, 'CLIENT_DISCONNECT');
      return null;
    }
    metrics.mqttConnections.inc();
    deps.onLogin(client);
    metrics.mqttLogins.inc({ result: 'ok' });
    return [null, true];
  }

  const authenticate: NonNullable<AedesOptions['authenticate']> = (client, username, password, done) => {
    login(client, username, password)
      .then((r) => {
        if (r) done(r[0] as never, r[1]);
      })
      .catch((err: unknown) => {
        log.error({ err }, 'authenticate failed');
        done(authError(CONNACK.SERVER_UNAVAILABLE, 'server unavailable') as never, false);
      });
  };

  return { preConnect, authenticate };
}
