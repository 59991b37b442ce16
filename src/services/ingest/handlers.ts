import type { DeviceAuthService } from '../device-auth.ts';
import type { GatewayService } from '../gateway.ts';
import type { OtaHandlers } from '../ota/handlers.ts';
import type { ProductCache } from '../product-cache.ts';
import type { SecretBox } from '../secrets.ts';
import { createReplyHandlers } from './handlers/command-replies.ts';
import { shadowUpdateHandler } from './handlers/device-shadow.ts';
import { deviceTagsHandler, desiredPropertiesHandler } from './handlers/device-tags-desired.ts';
import { ntpHandler } from './handlers/ntp.ts';
import { createPackPostHandler } from './handlers/pack-post.ts';
import { createThingDataHandlers } from './handlers/thing-data.ts';
import { createTopologyHandler } from './handlers/topology.ts';
import type { UplinkHandler, UplinkHandlers } from './types.ts';

/** Custom topics and uncatalogued uplinks: the stored `device.message` is all there is (forwarded by rules). */
const storeOnly: UplinkHandler = () => null;

export interface UplinkHandlerDeps {
  products: ProductCache;
  deviceAuth: DeviceAuthService;
  gateway: GatewayService;
  secrets: SecretBox;
  ota: OtaHandlers;
  /** combine/login and logout, combine/batch_login and batch_logout over a gateway connection (§1.7, D24). */
  subDeviceSession: { single: UplinkHandler<'subDeviceSession'>; batch: UplinkHandler<'subDeviceBatchSession'> };
}

/** The handler table: one handler per uplink kind (domain/alink/uplink.ts). */
export function createUplinkHandlers(deps: UplinkHandlerDeps): UplinkHandlers {
  const thingData = createThingDataHandlers({ products: deps.products });
  const replies = createReplyHandlers();
  return {
    propertyPost: thingData.propertyPost,
    propertyHistoryPost: thingData.historyPost,
    propertyPackPost: createPackPostHandler({
      products: deps.products,
      subDevice: (gw, pk, dn) => deps.gateway.boundSubDevice(gw, pk, dn),
    }),
    eventPost: thingData.eventPost,
    serviceReply: replies.serviceReply,
    rrpcResponse: replies.rrpc,
    extRrpcResponse: replies.extRrpc,
    topology: createTopologyHandler(deps),
    deviceTags: deviceTagsHandler,
    desiredProperties: desiredPropertiesHandler,
    otaInform: deps.ota.inform,
    otaProgress: deps.ota.progress,
    otaRequest: deps.ota.request,
    otaFirmwareGet: deps.ota.firmwareGet,
    shadowUpdate: shadowUpdateHandler,
    ntpRequest: ntpHandler,
    subDeviceSession: deps.subDeviceSession.single,
    subDeviceBatchSession: deps.subDeviceSession.batch,
    custom: storeOnly,
    other: storeOnly,
  };
}
