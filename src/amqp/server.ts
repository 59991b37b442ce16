import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import rhea, { type Connection, type Delivery, type EventContext, type Sender } from 'rhea';
import { AmqpCondition } from '../domain/amqp/conditions.ts';
import type { Logger } from '../logger.ts';
import type { ConsumerHandle, OutgoingMessage, Outcome } from '../services/amqp/dispatcher.ts';
import { AmqpLoginError, type AmqpSession, type AmqpSubscriptions } from '../services/amqp/subscriptions.ts';

/** cloud-api.md §7.2 step 5 and 6. */
const SERVER_IDLE_TIME_OUT_MS = 300_000;
export const ATTACH_TIMEOUT_MS = 15_000;

export interface AmqpServerOptions {
  host: string;
  /** Plain AMQP 1.0 over TCP; undefined: off. */
  port?: number | undefined;
  tls?: { cert: string; key: string; port: number } | undefined;
  attachTimeoutMs?: number;
}

interface DeliveryTag {
  position: number;
  attempt: number;
}

const tags = new WeakMap<Delivery, DeliveryTag>();

/**
 * The wire side of AMQP server-side subscription: rhea listens (no hand-written codec), one container per connection so
 * that the SASL PLAIN callback knows which connection it authenticates. Everything else is AmqpSubscriptions.
 */
export async function startAmqpServer(subs: AmqpSubscriptions, parentLogger: Logger, opts: AmqpServerOptions) {
  const logger = parentLogger.child({ module: 'amqp' });
  const sockets = new Set<net.Socket>();
  const connections = new Set<Connection>();
  const attachTimeoutMs = opts.attachTimeoutMs ?? ATTACH_TIMEOUT_MS;

  function accept(socket: net.Socket): void {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    const remoteAddress = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}`;
    const container = rhea.create_container({ id: 'thingql' });
    let session: AmqpSession | null = null;
    let handle: (ConsumerHandle & { sender: Sender }) | null = null;
    let done: (() => void) | null = null;
    let attachTimer: NodeJS.Timeout | null = null;

    // SASL PLAIN only (§7.2 step 1): without ANONYMOUS among the mechanisms, rhea requires SASL.
    container.sasl_server_mechanisms.enable_plain(async (username: string, password: string) => {
      try {
        session = await subs.authenticate(username, password);
        return true;
      } catch (error) {
        if (!(error instanceof AmqpLoginError)) logger.error({ err: error }, 'amqp login failed unexpectedly');
        else logger.debug({ code: error.code, remoteAddress }, 'amqp login refused');
        return false;
      }
    });

    const conn = container.create_connection({
      id: remoteAddress,
      idle_time_out: SERVER_IDLE_TIME_OUT_MS,
      treat_modified_as_released: false,
    } as never);
    const groupId = () => session!.login.consumerGroupId;
    const closeWith = (condition: string, description: string) => {
      if (conn.is_open()) conn.close({ condition, description });
      else socket.destroy();
    };

    const detach = () => {
      if (!handle || !session) return;
      subs.detach(groupId(), handle);
      handle = null;
    };
    const finish = () => {
      if (attachTimer) clearTimeout(attachTimer);
      attachTimer = null;
      detach();
      done?.();
      done = null;
      connections.delete(conn);
    };

    container.on('connection_open', () => {
      if (!session) return closeWith(AmqpCondition.UNAUTHORIZED_ACCESS, 'not authenticated');
      connections.add(conn);
      done = subs.connected(session, closeWith);
      attachTimer = setTimeout(() => {
        if (!handle)
          closeWith(AmqpCondition.RESOURCE_LIMIT_EXCEEDED, `no receiver link attached within ${attachTimeoutMs} ms`);
      }, attachTimeoutMs);
      attachTimer.unref();
    });

    container.on('sender_open', (ctx: EventContext) => {
      const sender = ctx.sender!;
      if (!session || handle) {
        sender.close({ condition: AmqpCondition.NOT_ALLOWED, description: 'one receiver link per connection' });
        return;
      }
      if (attachTimer) clearTimeout(attachTimer);
      const remoteSource = (sender as unknown as { remote: { attach?: { source?: { address?: string } } } }).remote
        .attach?.source;
      sender.set_source({ address: remoteSource?.address ?? 'default' });
      const s = session;
      handle = {
        sender,
        clientId: s.login.clientId,
        accessKeyId: s.credential.accessKeyId,
        remoteAddress,
        connectedAt: new Date(),
        productKeys: s.credential.productKeys,
        credit: () => (sender.is_open() ? (sender as unknown as { credit: number }).credit : 0),
        send: (m: OutgoingMessage) => send(sender, m),
      };
      subs.attach(groupId(), handle);
    });

    container.on('receiver_open', (ctx: EventContext) => {
      ctx.receiver!.close({
        condition: AmqpCondition.NOT_ALLOWED,
        description: 'clients only receive: attach a receiver link',
      });
    });

    container.on('sendable', () => {
      if (session) subs.sendable(groupId());
    });

    const onOutcome = (outcome: (ctx: EventContext) => Outcome) => (ctx: EventContext) => {
      const tag = ctx.delivery ? tags.get(ctx.delivery) : undefined;
      if (!tag || !session || !handle || ctx.sender !== handle.sender) return;
      subs.outcome(groupId(), handle, tag.position, tag.attempt, outcome(ctx));
    };
    container.on(
      'accepted',
      onOutcome(() => 'accepted'),
    );
    container.on(
      'rejected',
      onOutcome(() => 'rejected'),
    );
    container.on(
      'released',
      onOutcome(() => 'released'),
    );
    container.on(
      'modified',
      onOutcome((ctx) =>
        (ctx.delivery?.remote_state as { undeliverable_here?: boolean } | undefined)?.undeliverable_here
          ? 'undeliverable-here'
          : 'modified',
      ),
    );

    container.on('sender_close', (ctx: EventContext) => {
      if (handle && ctx.sender === handle.sender) detach();
    });
    container.on('sender_error', () => undefined);
    container.on('receiver_error', () => undefined);
    container.on('connection_close', () => finish());
    container.on('disconnected', () => finish());
    container.on('connection_error', (ctx: EventContext) =>
      logger.debug({ remoteAddress, error: ctx.connection.error }, 'amqp connection error'),
    );
    container.on('protocol_error', (error: unknown) =>
      logger.debug({ err: error, remoteAddress }, 'amqp protocol error'),
    );
    container.on('error', (error: unknown) => logger.debug({ err: error, remoteAddress }, 'amqp error'));
    socket.on('close', finish);
    conn.accept(socket);
  }

  function send(sender: Sender, m: OutgoingMessage): void {
    if (!sender.is_open()) throw new Error('link closed');
    // §7.3: one binary data section and no content-type; generateTime an AMQP long (Qpid's getLongProperty).
    const delivery = sender.send({
      message_id: m.messageId,
      first_acquirer: m.firstAcquirer,
      delivery_count: m.deliveryCount,
      application_properties: {
        topic: m.topic,
        messageId: m.messageId,
        generateTime: rhea.types.wrap_long(m.generateTime),
      },
      body: rhea.message.data_section(m.body),
    });
    tags.set(delivery, { position: m.position, attempt: m.attempt });
  }

  const listen = (server: net.Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, opts.host, () => resolve((server.address() as net.AddressInfo).port));
    });

  const servers: net.Server[] = [];
  let port: number | null = null;
  let tlsPort: number | null = null;
  if (opts.port !== undefined) {
    const server = net.createServer(accept);
    servers.push(server);
    port = await listen(server, opts.port);
    logger.info({ port }, `AMQP 1.0 on amqp://${opts.host}:${port}`);
  }
  if (opts.tls) {
    const server = tls.createServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) }, accept);
    servers.push(server);
    tlsPort = await listen(server, opts.tls.port);
    logger.info({ port: tlsPort }, `AMQP 1.0 over TLS on amqps://${opts.host}:${tlsPort}`);
  }

  return {
    port,
    tlsPort,
    async close(): Promise<void> {
      const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      for (const c of connections)
        if (c.is_open()) c.close({ condition: AmqpCondition.CONNECTION_FORCED, description: 'server shutting down' });
      await new Promise((r) => setTimeout(r, 50).unref());
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
