import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';

/**
 * Alibaba's Node.js Link SDK (`alibabacloud-iot-device-sdk` 1.2.8, CommonJS, no types): only what the tests use.
 * It connects with its own bundled mqtt.js 3.0.0, `clean: false`, ClientId
 * `${pk}&${dn}|securemode=3,signmethod=hmac${signAlgorithm},timestamp=..,lan=NodeJS,_v=1.2.8|`, and always signs
 * with HMAC-SHA1 whatever `signAlgorithm` says (lib/utils.js hmacSign).
 */
export interface SdkDevice extends EventEmitter {
  end(force?: boolean, cb?: () => void): void;
  subscribe(
    topic: string,
    opts: object,
    cb?: (err: Error | null, granted: { topic: string; qos: number }[]) => void,
  ): void;
  publish(topic: string, payload: string | Buffer, opts?: object, cb?: (err?: Error) => void): void;
  _mqttClient: {
    connected: boolean;
    subscribe: (
      topic: string,
      opts: object,
      cb?: (err: Error | null, granted: { topic: string; qos: number }[]) => void,
    ) => void;
  };
}

export interface SdkRegisterResult {
  code: number;
  data?: { productKey: string; deviceName: string; deviceSecret: string };
  message?: string;
}

interface LinkSdk {
  device(config: {
    productKey: string;
    deviceName: string;
    deviceSecret: string;
    brokerUrl: string;
    signAlgorithm?: string;
    keepalive?: number;
  }): SdkDevice;
  register(
    opts: {
      productKey: string;
      productSecret: string;
      deviceName: string;
      registerURL: string;
      random?: string;
      signMethod?: string;
    },
    cb: (res: SdkRegisterResult) => void,
  ): void;
  sdkver: string;
}

export const iot = createRequire(import.meta.url)('alibabacloud-iot-device-sdk') as LinkSdk;

/**
 * An SDK device whose every SUBACK is recorded as the device sees it (the SDK's own subscribe calls go through its
 * mqtt client; the wrapper is installed before the connection completes).
 */
export function sdkDevice(config: Parameters<LinkSdk['device']>[0]) {
  const device = iot.device(config);
  const subacks: { topic: string; qos: number }[] = [];
  const mqttClient = device._mqttClient;
  const subscribe = mqttClient.subscribe.bind(mqttClient);
  mqttClient.subscribe = (topic, opts, cb) =>
    subscribe(topic, opts, (err, granted) => {
      subacks.push(...(granted ?? []));
      cb?.(err, granted);
    });
  const connected = new Promise<void>((resolve, reject) => {
    device.once('connect', () => resolve());
    device.once('error', (args: unknown) =>
      reject(new Error(`SDK device error: ${String(Array.isArray(args) ? args[0] : args)}`)),
    );
  });
  return {
    device,
    subacks,
    connected,
    end: () => new Promise<void>((resolve) => device.end(false, () => resolve())),
  };
}

/** The SDK's reply callback of `onService` (lib/thing.js 1.2.8). */
export type SdkReply = (params: { id?: string; code: number; data?: unknown }, type?: 'sync' | 'async') => void;

/** lib/thing.js 1.2.8: `onProps(cb)` and `onService(name, cb(res, reply))`. */
export interface SdkThingApi {
  onProps(cb: (res: any) => void): void;
  onService(name: string, cb: (res: any, reply: SdkReply) => void): void;
}
