import type { Connection, PageArgs } from '../../services/paging.ts';
import type { DeviceRecord } from '../../db/records.ts';
import { BusinessError } from '../errors.ts';
import {
  call,
  deviceKey,
  propertyItems,
  requireProduct,
  resolveDevice,
  valueString,
  type OpContext,
  type Operation,
} from './shared.ts';

/** cloud-api.md §6.3: thing model data, read from ThingQL's history and desired properties. */
interface TslEntry {
  identifier: string;
  name?: string;
  dataType?: { type?: string; specs?: { unit?: string } };
}

async function model(ctx: OpContext, d: DeviceRecord) {
  const p = await requireProduct(ctx, d.productKey);
  const list = (k: string) => (Array.isArray(p.tsl[k]) ? (p.tsl[k] as TslEntry[]) : []);
  return { properties: list('properties'), events: list('events'), services: list('services') };
}

const describe = (e: TslEntry | undefined) => ({
  ...(e?.name ? { Name: e.name } : {}),
  ...(e?.dataType?.type ? { DataType: e.dataType.type } : {}),
  ...(e?.dataType?.specs?.unit ? { Unit: e.dataType.specs.unit } : {}),
});

/** StartTime, EndTime (ms, inclusive), Asc (0/1) and PageSize of the four history queries. */
function range(ctx: OpContext, maxPage: number) {
  const from = ctx.params.int('StartTime', { required: true, code: 'iot.device.InvalidTimeBucket' })!;
  const to = ctx.params.int('EndTime', { required: true, code: 'iot.device.InvalidTimeBucket' })!;
  if (from < 0 || to < 0 || from > to)
    throw new BusinessError(
      'iot.device.InvalidTimeBucket',
      'StartTime and EndTime must be non-negative with StartTime <= EndTime',
    );
  const asc = ctx.params.int('Asc', { required: true, min: 0, max: 1 })! === 1;
  const pageSize = ctx.params.int('PageSize', {
    required: true,
    min: 1,
    max: maxPage,
    code: 'iot.common.InvalidPageParams',
  })!;
  return { from: new Date(from), to: new Date(to), order: asc ? ('ASC' as const) : ('DESC' as const), asc, pageSize };
}

type Range = ReturnType<typeof range>;

/** The device (IotId, or ProductKey + DeviceName) and the Identifier of a one-identifier history query. */
async function deviceAndIdentifier(ctx: OpContext): Promise<{ d: DeviceRecord; identifier: string }> {
  const d = await resolveDevice(ctx);
  return { d, identifier: ctx.params.req('Identifier') };
}

/** The history service's filter: one device, one identifier, the range and its order. */
const historyFilter = (d: DeviceRecord, identifier: string, r: Range) => ({
  ...deviceKey(d),
  identifier,
  from: r.from,
  to: r.to,
  order: r.order,
});

/**
 * At most `pageSize` records, except that records sharing the last record's millisecond are never split across pages
 * (the next call starts at last time +/- 1, so they would be lost).
 */
async function page<T>(fetch: (args: PageArgs) => Promise<Connection<T>>, pageSize: number, timeOf: (t: T) => number) {
  const first = await fetch({ first: pageSize });
  const items = first.edges.map((e) => e.node);
  let more = first.pageInfo.hasNextPage;
  let cursor = first.pageInfo.endCursor;
  const last = items.at(-1);
  if (last !== undefined) {
    const lastTime = timeOf(last);
    while (more) {
      const next = await fetch({ first: 50, after: cursor });
      const same = next.edges.filter((e) => timeOf(e.node) === lastTime);
      items.push(...same.map((e) => e.node));
      if (same.length < next.edges.length) break;
      more = next.pageInfo.hasNextPage;
      cursor = next.pageInfo.endCursor;
    }
  }
  return { items, more };
}

const nextFields = (more: boolean, lastTime: number | undefined, asc: boolean) =>
  more && lastTime !== undefined
    ? { NextValid: true, NextTime: asc ? lastTime + 1 : lastTime - 1 }
    : { NextValid: false };

/** A one-list answer: `{Data: {List: {[listKey]: records}, NextValid, NextTime?}}`. */
async function listPage<T>(
  r: Range,
  listKey: string,
  fetch: (args: PageArgs) => Promise<Connection<T>>,
  timeOf: (t: T) => number,
  info: (t: T) => Record<string, unknown>,
) {
  const { items, more } = await page(fetch, r.pageSize, timeOf);
  const last = items.at(-1);
  return {
    Data: {
      List: { [listKey]: items.map(info) },
      ...nextFields(more, last === undefined ? undefined : timeOf(last), r.asc),
    },
  };
}

export const thingDataOperations: Record<string, Operation> = {
  QueryDevicePropertyStatus: {
    role: 'VIEWER',
    async run(ctx) {
      const d = await resolveDevice(ctx);
      const { properties } = await model(ctx, d);
      const latest = new Map((await ctx.services.history.latest(d.id)).map((l) => [l.identifier, l]));
      const info = properties.map((p) => {
        const l = latest.get(p.identifier);
        return {
          Identifier: p.identifier,
          ...describe(p),
          ...(l ? { Value: valueString(l.value), Time: String(l.time.getTime()) } : {}),
        };
      });
      return { Data: { List: { PropertyStatusInfo: info } } };
    },
  },

  QueryDevicePropertyData: {
    role: 'VIEWER',
    async run(ctx) {
      const { d, identifier } = await deviceAndIdentifier(ctx);
      const r = range(ctx, 50);
      return listPage(
        r,
        'PropertyInfo',
        (args) => ctx.services.history.propertyHistory(ctx.principal, historyFilter(d, identifier, r), args),
        (p) => p.time.getTime(),
        (p) => ({ Time: String(p.time.getTime()), Value: valueString(p.value) }),
      );
    },
  },

  QueryDevicePropertiesData: {
    role: 'VIEWER',
    async run(ctx) {
      const d = await resolveDevice(ctx);
      const identifiers = ctx.params.list('Identifier');
      if (identifiers.length === 0) ctx.params.req('Identifier.1');
      if (identifiers.length > 10)
        throw new BusinessError('iot.device.TooManyDevicePropertiesPerTime', 'at most 10 identifiers per call');
      const r = range(ctx, 100);
      const infos = [];
      let next: number | undefined;
      for (const identifier of identifiers) {
        const { items, more } = await page(
          (args) => ctx.services.history.propertyHistory(ctx.principal, historyFilter(d, identifier, r), args),
          r.pageSize,
          (p) => p.time.getTime(),
        );
        infos.push({
          Identifier: identifier,
          List: { PropertyInfo: items.map((p) => ({ Time: p.time.getTime(), Value: valueString(p.value) })) },
        });
        const last = items.at(-1)?.time.getTime();
        // Several identifiers share one NextTime: the earliest point any of them must continue from.
        if (more && last !== undefined)
          next = next === undefined ? last : r.asc ? Math.min(next, last) : Math.max(next, last);
      }
      return { PropertyDataInfos: { PropertyDataInfo: infos }, ...nextFields(next !== undefined, next, r.asc) };
    },
  },

  QueryDeviceEventData: {
    role: 'VIEWER',
    async run(ctx) {
      const { d, identifier } = await deviceAndIdentifier(ctx);
      const eventType = ctx.params.opt('EventType') ?? null;
      if (eventType !== null && !['info', 'alert', 'error'].includes(eventType)) {
        throw new BusinessError('iot.common.InvalidFormattedParameter', 'EventType must be info, alert or error');
      }
      const r = range(ctx, 50);
      return listPage(
        r,
        'EventInfo',
        (args) =>
          ctx.services.history.eventHistory(ctx.principal, { ...historyFilter(d, identifier, r), eventType }, args),
        (e) => e.time.getTime(),
        (e) => ({
          Identifier: e.identifier,
          Name: e.name,
          EventType: e.eventType,
          OutputData: JSON.stringify(e.output ?? {}),
          Time: String(e.time.getTime()),
        }),
      );
    },
  },

  QueryDeviceServiceData: {
    role: 'VIEWER',
    async run(ctx) {
      const { d, identifier } = await deviceAndIdentifier(ctx);
      const r = range(ctx, 50);
      const { services } = await model(ctx, d);
      const name = services.find((s) => s.identifier === identifier)?.name;
      return listPage(
        r,
        'ServiceInfo',
        (args) => ctx.services.history.serviceHistory(ctx.principal, historyFilter(d, identifier, r), args),
        (s) => s.requestedAt.getTime(),
        (s) => ({
          Identifier: s.identifier,
          ...(name ? { Name: name } : {}),
          InputData: JSON.stringify(s.input ?? {}),
          OutputData: JSON.stringify(s.output ?? {}),
          Time: String(s.requestedAt.getTime()),
        }),
      );
    },
  },

  SetDeviceDesiredProperty: {
    role: 'OPERATOR',
    async run(ctx) {
      const d = await resolveDevice(ctx);
      const items = propertyItems(ctx);
      const versions = ctx.params.jsonObject('Versions', 'iot.common.InvalidFormattedParameter');
      const r = await call(
        () =>
          ctx.services.tagsDesired.setDesired(ctx.principal, {
            ...deviceKey(d),
            items,
            versions,
          }),
        {
          VERSION_CONFLICT: 'iot.common.InvalidFormattedParameter',
        },
      );
      return { Data: { Versions: JSON.stringify(r.versions) } };
    },
  },

  QueryDeviceDesiredProperty: {
    role: 'VIEWER',
    async run(ctx) {
      const d = await resolveDevice(ctx);
      const wanted = ctx.params.list('Identifier');
      const { properties } = await model(ctx, d);
      const rows = (await ctx.services.tagsDesired.desired(d.id)).filter(
        (r) => wanted.length === 0 || wanted.includes(r.identifier),
      );
      const info = rows.map((r) => ({
        Identifier: r.identifier,
        ...describe(properties.find((p) => p.identifier === r.identifier)),
        Value: valueString(r.value),
        Version: r.version,
        Time: String(r.time.getTime()),
      }));
      return { Data: { List: { DesiredPropertyInfo: info } } };
    },
  },
};
