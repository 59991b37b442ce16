import type { DeviceCreds } from './devices.ts';
import { sdkDevice, type SdkDevice, type SdkThingApi } from './link-sdk.ts';

/** What a lamp's Blink service answers, from the call's params. */
export type BlinkReply = (params: { Times: number }) => { code: number; data: Record<string, unknown> };

/**
 * A smart lamp written against Alibaba's Node.js Link SDK 1.2.8 the way its README shows: `onProps` for property set
 * (the SDK has no reply helper for it, so the device publishes `set_reply` itself, echoing the id), `onService` with
 * `reply(..., 'async')` for Reboot and `reply(..., 'sync')` for Blink, and the raw client for RRPC (a `raw:x`
 * request is answered `pong:x`). `seen.messages` holds every message the client got, `seen.rrpc` the raw RRPC ones.
 */
export function sdkLamp(
  creds: DeviceCreds,
  brokerUrl: string,
  blink: BlinkReply = (p) => ({ code: 200, data: { Done: p.Times > 0 ? 1 : 0 } }),
) {
  const sdk = sdkDevice({ ...creds, brokerUrl });
  const device = sdk.device as SdkDevice & SdkThingApi & { _mqttClient: { reconnect(): void } };
  const { productKey: pk, deviceName: dn } = creds;
  const seen = {
    props: [] as any[],
    reboots: [] as any[],
    blinks: [] as any[],
    rrpc: [] as { topic: string; payload: string }[],
    messages: [] as { topic: string; payload: string }[],
  };
  device.onProps((res) => {
    seen.props.push(res);
    device.publish(
      `/sys/${pk}/${dn}/thing/service/property/set_reply`,
      JSON.stringify({ id: res.id, code: 200, data: {} }),
      { qos: 1 },
    );
  });
  device.onService('Reboot', (res, reply) => {
    seen.reboots.push(res);
    reply({ id: res.id, code: 200, data: { Accepted: 1 } });
  });
  device.onService('Blink', (res, reply) => {
    seen.blinks.push(res);
    reply({ id: res.id, ...blink(res.params) }, 'sync');
  });
  // Raw RRPC through the SDK's MQTT client: the SDK subscribes /sys/${pk}/${dn}/rrpc/request/+ itself.
  device.on('message', (topic: string, payload: Buffer) => {
    const text = payload.toString();
    seen.messages.push({ topic, payload: text });
    const prefix = `/sys/${pk}/${dn}/rrpc/request/`;
    if (!topic.startsWith(prefix) || !text.startsWith('raw:')) return;
    seen.rrpc.push({ topic, payload: text });
    device.publish(`/sys/${pk}/${dn}/rrpc/response/${topic.slice(prefix.length)}`, `pong:${text.slice(4)}`, { qos: 0 });
  });
  return { ...sdk, device, seen };
}
