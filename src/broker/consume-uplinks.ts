import type { Aedes, AedesPublishPacket, Client } from 'aedes';

type Done = (err?: Error | null) => void;
type RawPublish = (packet: AedesPublishPacket, client: Client | null, done: Done) => void;

/**
 * Device publishes end in the platform (stored, streamed, routed by rules and topic routes): the broker never relays
 * one to an MQTT client, and every MQTT client is a device (authorizeForward refuses them anyway). Once the route step
 * has made a publish durable and aedes has written its PUBACK, aedes would still run its publish pipeline for it: a
 * match against the stored subscriptions to queue it offline (a persistent device subscribed to
 * `thing/deviceinfo/+` queued its own `deviceinfo/update` to itself), a match against every live subscription, a
 * refused forward per match, and with several instances a trip through Redis to every other instance. None of that
 * delivers anything, so a device's publish stops here.
 *
 * A retained publish still goes through: aedes keeps it for the device's later subscriptions (retained-limits.ts).
 * Platform publishes (replies, commands, `$SYS` notices) carry no client and are untouched.
 */
export function consumeDevicePublishes(broker: Aedes): void {
  const target = broker as unknown as { publish: RawPublish };
  const publish = target.publish.bind(broker);
  target.publish = (packet, client, done) => {
    // aedes' own signature: publish(packet, done) for publishes without a client.
    if (typeof client === 'function') return publish(packet, null, client as Done);
    if (client && !packet.retain) return (done ?? noop)(null);
    return publish(packet, client, done);
  };
}

function noop(): void {}
