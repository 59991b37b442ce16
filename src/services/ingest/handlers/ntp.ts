import { ntpResponseTopic } from '../../../domain/alink/topics.ts';
import type { UplinkHandler } from '../types.ts';

/** D16: answer NTP requests with the server's receive and send times (send time taken when the reply goes out). */
export const ntpHandler: UplinkHandler<'ntpRequest'> = (device, request) => {
  let deviceSendTime: unknown = null;
  try {
    deviceSendTime = (JSON.parse(request.payload.toString('utf8')) as { deviceSendTime?: unknown }).deviceSendTime ?? null;
  } catch {
    // Not JSON: still answered, with deviceSendTime null, so the device can tell.
  }
  const serverRecvTime = String(request.receivedAt.getTime());
  return {
    replies: [
      {
        topic: ntpResponseTopic(device.productKey, device.deviceName),
        qos: 0,
        payload: () => Buffer.from(JSON.stringify({ deviceSendTime, serverRecvTime, serverSendTime: String(Date.now()) })),
      },
    ],
  };
};
