import type { ArgBuilder } from '@pothos/core';
import type { BuilderTypes } from './builder.ts';
import { SortOrderEnum } from './common.ts';

/** The device a history query reads. */
export const deviceArgs = (arg: ArgBuilder<BuilderTypes>) => ({
  productKey: arg.string({ required: true }),
  deviceName: arg.string({ required: true }),
});

/** The time range of a history query (both ends required). */
export const rangeArgs = (arg: ArgBuilder<BuilderTypes>) => ({
  from: arg({ type: 'DateTime', required: true }),
  to: arg({ type: 'DateTime', required: true }),
});

/** The order of a history query: newest first unless asked. */
export const orderArg = (arg: ArgBuilder<BuilderTypes>) => arg({ type: SortOrderEnum, defaultValue: 'DESC' });

interface HistoryArgs {
  productKey: string;
  deviceName: string;
  identifier?: string | null;
  from: Date;
  to: Date;
  order?: 'ASC' | 'DESC' | null;
}

/** The history service's filter from those arguments. */
export function historyFilter<A extends HistoryArgs>(
  args: A,
): Pick<A, 'productKey' | 'deviceName' | 'identifier' | 'from' | 'to'> & { order: 'ASC' | 'DESC' } {
  return {
    productKey: args.productKey,
    deviceName: args.deviceName,
    identifier: args.identifier,
    from: args.from,
    to: args.to,
    order: args.order ?? 'DESC',
  };
}
