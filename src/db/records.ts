/** Plain records services hand to transports (GraphQL, broker). */
export type NodeType = 'DEVICE' | 'GATEWAY';
export type DataFormat = 'ALINK_JSON' | 'CUSTOM';
export type ValidationMode = 'WEAK' | 'STRICT' | 'NONE';
export type TopicOperation = 'PUB' | 'SUB' | 'ALL';
/** alink-protocol.md D12 (`sys`) or D21 (`ext`). */
export type RrpcForm = 'sys' | 'ext';
export type DeviceState = 'UNACTIVE' | 'ONLINE' | 'OFFLINE' | 'DISABLED';

export interface ProductRecord {
  id: number;
  productKey: string;
  name: string;
  description: string | null;
  nodeType: NodeType;
  dataFormat: DataFormat;
  validationMode: ValidationMode;
  tsl: Record<string, unknown>;
  dynamicRegistration: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface TopicRecord {
  id: number;
  productKey: string;
  shortName: string;
  operation: TopicOperation;
  description: string | null;
  createdAt: Date;
}

export interface DeviceRecord {
  id: number;
  iotId: string;
  productKey: string;
  deviceName: string;
  nickname: string | null;
  enabled: boolean;
  online: boolean;
  connectionEpoch: number;
  clientIp: string | null;
  /** D21: the RRPC form of the device's current (or last) session. */
  rrpcForm: RrpcForm;
  activatedAt: Date | null;
  lastOnlineAt: Date | null;
  lastOfflineAt: Date | null;
  createdAt: Date;
}

export function deviceState(d: Pick<DeviceRecord, 'enabled' | 'online' | 'activatedAt'>): DeviceState {
  if (!d.enabled) return 'DISABLED';
  if (d.online) return 'ONLINE';
  return d.activatedAt ? 'OFFLINE' : 'UNACTIVE';
}

export const topicTemplate = (t: Pick<TopicRecord, 'productKey' | 'shortName'>): string =>
  `/${t.productKey}/\${deviceName}/user/${t.shortName}`;
