import { deviceState, type DeviceRecord } from '../../db/records.ts';
import { BusinessError } from '../errors.ts';
import {
  call,
  gmt,
  isAdmin,
  productDeviceNames,
  requireProduct,
  resolveDevice,
  statusOf,
  type OpContext,
  type Operation,
} from './shared.ts';

/** cloud-api.md §6.2: devices and their status. Device secrets only for ADMIN keys (except RegisterDevice's answer). */
const DEVICE_CODES = { INVALID_NAME: 'iot.device.InvalidFormattedDeviceName' };

async function secretFor(ctx: OpContext, d: DeviceRecord): Promise<{ DeviceSecret?: string }> {
  if (!isAdmin(ctx.principal)) return {};
  const s = await ctx.services.cloudApi.deviceSecret(ctx.principal, d.id);
  return s === null ? {} : { DeviceSecret: s };
}

/** Times that never happened are omitted. */
const times = (name: string, at: Date | null) =>
  at ? { [`Gmt${name}`]: gmt(at), [`Utc${name}`]: at.toISOString() } : {};

async function detail(ctx: OpContext, d: DeviceRecord, productName: string, nodeType: string) {
  const versions = await ctx.services.ota.deviceVersions(d.id);
  const firmware = versions.find((v) => v.module === 'default')?.version;
  return {
    IotId: d.iotId,
    ProductKey: d.productKey,
    ProductName: productName,
    DeviceName: d.deviceName,
    ...(await secretFor(ctx, d)),
    ...(d.nickname ? { Nickname: d.nickname } : {}),
    Status: statusOf(deviceState(d)),
    NodeType: nodeType === 'GATEWAY' ? 1 : 0,
    ...(firmware ? { FirmwareVersion: firmware } : {}),
    ...times('Create', d.createdAt),
    ...times('Active', d.activatedAt),
    Region: 'local',
    Owner: true,
  };
}

const lastStatusChange = (d: DeviceRecord): number | null => {
  const t = Math.max(d.lastOnlineAt?.getTime() ?? 0, d.lastOfflineAt?.getTime() ?? 0);
  return t > 0 ? t : null;
};

/** DeleteDevice, EnableThing, DisableThing: one device named either way (IotId or ProductKey + DeviceName); no data. */
const deviceAction = (op: 'delete' | 'enable' | 'disable'): Operation => ({
  role: 'OPERATOR',
  async run(ctx) {
    const d = await resolveDevice(ctx);
    await call(() => ctx.services.devices[op](ctx.principal, d.productKey, d.deviceName));
    return {};
  },
});

export const deviceOperations: Record<string, Operation> = {
  RegisterDevice: {
    role: 'OPERATOR',
    async run({ params, services, principal }) {
      const productKey = params.req('ProductKey');
      const r = await call(
        () =>
          services.devices.register(principal, {
            productKey,
            deviceName: params.opt('DeviceName') ?? null,
            nickname: params.opt('Nickname') ?? null,
          }),
        DEVICE_CODES,
      );
      const d = r.device;
      return {
        Data: {
          IotId: d.iotId,
          ProductKey: d.productKey,
          DeviceName: d.deviceName,
          DeviceSecret: r.deviceSecret,
          ...(d.nickname ? { Nickname: d.nickname } : {}),
        },
      };
    },
  },

  QueryDeviceDetail: {
    role: 'VIEWER',
    async run(ctx) {
      const d = await resolveDevice(ctx);
      const p = await requireProduct(ctx, d.productKey);
      const online = d.lastOnlineAt ? times('Online', d.lastOnlineAt) : {};
      return {
        Data: {
          ...(await detail(ctx, d, p.name, p.nodeType)),
          ...(d.clientIp ? { IpAddress: d.clientIp } : {}),
          ...online,
        },
      };
    },
  },

  QueryDeviceInfo: {
    role: 'VIEWER',
    async run(ctx) {
      const d = await resolveDevice(ctx);
      return {
        Data: {
          IotId: d.iotId,
          ProductKey: d.productKey,
          DeviceName: d.deviceName,
          ...(await secretFor(ctx, d)),
          ...(d.nickname ? { Nickname: d.nickname } : {}),
        },
      };
    },
  },

  BatchQueryDeviceDetail: {
    role: 'VIEWER',
    async run(ctx) {
      const { productKey, names } = productDeviceNames(ctx.params);
      if (names.length > 100)
        throw new BusinessError('iot.device.TooManyDevicePropertiesPerTime', 'at most 100 devices per call');
      const p = await requireProduct(ctx, productKey);
      const found = await ctx.services.cloudApi.devicesByName(productKey, names);
      const list = [];
      for (const n of names) {
        const d = found.get(n);
        if (d) list.push(await detail(ctx, d, p.name, p.nodeType));
      }
      return { Data: { Data: list } };
    },
  },

  QueryDevice: {
    role: 'VIEWER',
    async run(ctx) {
      const productKey = ctx.params.req('ProductKey');
      const pageSize = ctx.params.int('PageSize', { min: 1, max: 50, code: 'iot.common.InvalidPageParams' }) ?? 10;
      const token = ctx.params.opt('NextToken');
      let page = ctx.params.int('CurrentPage', { min: 1, max: 1_000_000, code: 'iot.common.InvalidPageParams' }) ?? 1;
      if (token !== undefined) {
        const m = /^p(\d{1,7})$/.exec(token);
        if (!m) throw new BusinessError('iot.common.InvalidPageParams', 'NextToken is not one this server issued');
        page = Number(m[1]);
      }
      const p = await requireProduct(ctx, productKey);
      const { total, rows } = await ctx.services.cloudApi.devicePage(ctx.principal, productKey, pageSize, page);
      const pageCount = Math.ceil(total / pageSize);
      const admin = isAdmin(ctx.principal);
      const info = [];
      for (const d of rows) {
        const modified = d.lastOnlineAt && d.lastOnlineAt > d.createdAt ? d.lastOnlineAt : d.createdAt;
        info.push({
          IotId: d.iotId,
          DeviceId: d.iotId,
          ProductKey: d.productKey,
          DeviceName: d.deviceName,
          ...(admin ? await secretFor(ctx, d) : {}),
          ...(d.nickname ? { Nickname: d.nickname } : {}),
          DeviceStatus: statusOf(deviceState(d)),
          DeviceType: p.nodeType === 'GATEWAY' ? 'GATEWAY' : 'DEVICE',
          GmtCreate: gmt(d.createdAt),
          GmtModified: gmt(modified),
          UtcCreate: d.createdAt.toISOString(),
          UtcModified: modified.toISOString(),
        });
      }
      return {
        Total: total,
        PageSize: pageSize,
        PageCount: pageCount,
        Page: page,
        ...(page < pageCount ? { NextToken: `p${page + 1}` } : {}),
        Data: { DeviceInfo: info },
      };
    },
  },

  GetDeviceStatus: {
    role: 'VIEWER',
    async run(ctx) {
      const d = await resolveDevice(ctx);
      const t = lastStatusChange(d);
      return { Data: { Status: statusOf(deviceState(d)), ...(t ? { Timestamp: t } : {}) } };
    },
  },

  BatchGetDeviceState: {
    role: 'VIEWER',
    async run(ctx) {
      const productKey = ctx.params.req('ProductKey');
      const names = ctx.params.list('DeviceName');
      const iotIds = ctx.params.list('IotId');
      if (names.length === 0 && iotIds.length === 0) ctx.params.req('DeviceName.1');
      if (names.length + iotIds.length > 50)
        throw new BusinessError('iot.device.TooManyDevicePropertiesPerTime', 'at most 50 devices per call');
      await requireProduct(ctx, productKey);
      const found =
        names.length > 0 ? [...(await ctx.services.cloudApi.devicesByName(productKey, names)).values()] : [];
      const byId = await ctx.services.cloudApi.devicesByIotId(ctx.principal, productKey, iotIds);
      const list = [...found, ...byId.filter((d) => !found.some((f) => f.id === d.id))];
      return {
        DeviceStatusList: {
          DeviceStatus: list.map((d) => ({
            IotId: d.iotId,
            DeviceId: d.iotId,
            DeviceName: d.deviceName,
            Status: statusOf(deviceState(d)),
            ...(d.clientIp ? { AsAddress: d.clientIp } : {}),
            ...(d.lastOnlineAt ? { LastOnlineTime: gmt(d.lastOnlineAt) } : {}),
          })),
        },
      };
    },
  },

  DeleteDevice: deviceAction('delete'),
  EnableThing: deviceAction('enable'),
  DisableThing: deviceAction('disable'),
};
