import { parseBoundedJson } from '../../../domain/alink/json-limits.ts';
import { ntpResponseTopic } from '../../../domain/alink/topics.ts';
import type { UplinkHandler } from '../types.ts';

/** D16: answer NTP requests with the server's receive and send times (send time taken when the reply goes out). */
export const ntpHandler: UplinkHandler<'ntpRequest'> = (device, request) => {
  let deviceSendTime: unknown = null;
  // Not JSON (or nested too deep to echo): still answered, with deviceSendTime null, so the device can tell.
  const parsed = parseBoundedJson(request.payload.toString('utf8'));
  if (parsed.ok && typeof parsed.value === 'object' && parsed.value !== null)
    deviceSendTime = (parsed.value as { deviceSendTime?: unknown }).deviceSendTime ?? null;
  const serverRecvTime = String(request.receivedAt.getTime());
  return {
    replies: [
      {
        topic: ntpResponseTopic(device.productKey, device.deviceName),
        qos: 0,
        payload: () =>
          Buffer.from(JSON.stringify({ deviceSendTime, serverRecvTime, serverSendTime: String(Date.now()) })),
      },
    ],
  };
};
