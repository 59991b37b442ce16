/**
 * A lamp backend written against Alibaba Cloud IoT Platform's server SDK (`@alicloud/iot20180120`), the way it is
 * written for Alibaba: nothing in this file knows it talks to ThingQL. Only the client configuration (`iotClient`)
 * names an endpoint, and for ThingQL that is `host:port` with `protocol: 'http'` (or https behind TLS).
 */
import * as $Iot from '@alicloud/iot20180120';
import * as OpenApi from '@alicloud/openapi-client';

/**
 * The SDK is CommonJS with `exports.default = Client`. Compiled to CommonJS (Alibaba's samples) `import Iot from`
 * is the class; under Node's ESM loader the default import is `module.exports`, so the class is `Iot.default`.
 */
type IotClientClass = typeof $Iot.default.default;
const loaded = $Iot.default as unknown as IotClientClass | { default: IotClientClass };
const Iot: IotClientClass = typeof loaded === 'function' ? loaded : loaded.default;
export type IotClient = InstanceType<IotClientClass>;

export interface IotEndpoint {
  /** Alibaba: `iot.cn-shanghai.aliyuncs.com`; ThingQL: its HTTP `host:port`, e.g. `127.0.0.1:4000`. */
  endpoint: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** Alibaba: https (the default); ThingQL without TLS: http. */
  protocol?: 'http' | 'https';
  /** `'v2'`: RPC signatures (HMAC-SHA1) instead of the default ACS3-HMAC-SHA256. */
  signatureAlgorithm?: 'v2';
}

export function iotClient(e: IotEndpoint): IotClient {
  return new Iot(
    new OpenApi.Config({
      accessKeyId: e.accessKeyId,
      accessKeySecret: e.accessKeySecret,
      endpoint: e.endpoint,
      protocol: e.protocol ?? 'https',
      ...(e.signatureAlgorithm ? { signatureAlgorithm: e.signatureAlgorithm } : {}),
      // The SDK's default read and connect timeouts are 3 s: an RRpc or a sync service may wait up to 8 s for the
      // device, so raise both (on Alibaba as on ThingQL).
      readTimeout: 10_000,
      connectTimeout: 10_000,
    }),
  );
}

/** Business failures come back with `success: false` and Alibaba's code (HTTP 200); request failures throw. */
function ok<T extends { success?: boolean; code?: string; errorMessage?: string }>(
  body: T | undefined,
  what: string,
): T {
  if (!body?.success) throw new Error(`${what} failed: ${body?.code} ${body?.errorMessage ?? ''}`);
  return body;
}

export class LampServer {
  constructor(
    private readonly client: IotClient,
    private readonly productKey: string,
  ) {}

  async status(deviceName: string): Promise<string> {
    const r = await this.client.getDeviceStatus(
      new $Iot.GetDeviceStatusRequest({ productKey: this.productKey, deviceName }),
    );
    return ok(r.body, 'GetDeviceStatus').data!.status!;
  }

  /** Thing model property set; the device answers asynchronously (AMQP: its downlink reply). */
  async setBrightness(deviceName: string, brightness: number): Promise<string> {
    const r = await this.client.setDeviceProperty(
      new $Iot.SetDevicePropertyRequest({
        productKey: this.productKey,
        deviceName,
        items: JSON.stringify({ LightSwitch: 1, Brightness: brightness }),
      }),
    );
    return ok(r.body, 'SetDeviceProperty').data!.messageId!;
  }

  /** A synchronous service: the answer is the device's output. */
  async blink(deviceName: string, times: number): Promise<{ Done: number }> {
    const r = await this.client.invokeThingService(
      new $Iot.InvokeThingServiceRequest({
        productKey: this.productKey,
        deviceName,
        identifier: 'Blink',
        args: JSON.stringify({ Times: times, IntervalMs: 200 }),
      }),
    );
    return JSON.parse(ok(r.body, 'InvokeThingService').data!.result!) as { Done: number };
  }

  /** A raw request/response with the device (RRpc); the payload travels base64-encoded. */
  async ping(deviceName: string, text: string): Promise<{ code: string; answer: string | null }> {
    const r = await this.client.rRpc(
      new $Iot.RRpcRequest({
        productKey: this.productKey,
        deviceName,
        requestBase64Byte: Buffer.from(text).toString('base64'),
        timeout: 5000,
      }),
    );
    const body = ok(r.body, 'RRpc');
    return {
      code: body.rrpcCode!,
      answer: body.payloadBase64Byte ? Buffer.from(body.payloadBase64Byte, 'base64').toString() : null,
    };
  }

  /** A message on one of the device's custom topics. */
  async notify(deviceName: string, text: string): Promise<string> {
    const r = await this.client.pub(
      new $Iot.PubRequest({
        productKey: this.productKey,
        topicFullName: `/${this.productKey}/${deviceName}/user/get`,
        messageContent: Buffer.from(text).toString('base64'),
        qos: 1,
      }),
    );
    return ok(r.body, 'Pub').messageId!;
  }

  async properties(deviceName: string): Promise<Record<string, string>> {
    const r = await this.client.queryDevicePropertyStatus(
      new $Iot.QueryDevicePropertyStatusRequest({ productKey: this.productKey, deviceName }),
    );
    const list = ok(r.body, 'QueryDevicePropertyStatus').data!.list!.propertyStatusInfo ?? [];
    return Object.fromEntries(list.filter((p) => p.value !== undefined).map((p) => [p.identifier!, p.value!]));
  }
}
