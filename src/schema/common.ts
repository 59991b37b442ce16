import type { UserErrorShape } from '../domain/errors.ts';
import { builder } from './builder.ts';
import { toUserErrors } from './errors.ts';

export const NodeTypeEnum = builder.enumType('NodeType', { values: ['DEVICE', 'GATEWAY'] as const });
export const DataFormatEnum = builder.enumType('DataFormat', { values: ['ALINK_JSON', 'CUSTOM'] as const });
export const ValidationModeEnum = builder.enumType('ValidationMode', {
  description:
    'alink-protocol.md D9: WEAK stores valid items and reports the rest; STRICT rejects a message with any invalid item; NONE skips TSL checks.',
  values: ['WEAK', 'STRICT', 'NONE'] as const,
});
export const DeviceStateEnum = builder.enumType('DeviceState', {
  values: ['UNACTIVE', 'ONLINE', 'OFFLINE', 'DISABLED'] as const,
});
export const ConnectionStatusEnum = builder.enumType('ConnectionStatus', { values: ['ONLINE', 'OFFLINE'] as const });
export const TopicOperationEnum = builder.enumType('TopicOperation', { values: ['PUB', 'SUB', 'ALL'] as const });
export const RrpcCodeEnum = builder.enumType('RrpcCode', {
  values: ['SUCCESS', 'TIMEOUT', 'OFFLINE', 'HALFCONN', 'UNKNOWN'] as const,
});
export const PayloadEncodingEnum = builder.enumType('PayloadEncoding', { values: ['UTF8', 'BASE64'] as const });
export const SortOrderEnum = builder.enumType('SortOrder', { values: ['ASC', 'DESC'] as const });
export const EventTypeEnum = builder.enumType('EventType', { values: ['INFO', 'ALERT', 'ERROR'] as const });
export const ServiceCallTypeEnum = builder.enumType('ServiceCallType', { values: ['SYNC', 'ASYNC'] as const });
export const LifecycleActionEnum = builder.enumType('LifecycleAction', {
  values: ['CREATE', 'DELETE', 'ENABLE', 'DISABLE'] as const,
});
export const ApiRoleEnum = builder.enumType('ApiRole', { values: ['ADMIN', 'OPERATOR', 'VIEWER'] as const });

export const UserErrorRef = builder.objectRef<UserErrorShape>('UserError').implement({
  description:
    'An expected failure of a mutation. `code` is a stable SCREAMING_SNAKE string; `field` is the input path.',
  fields: (t) => ({
    code: t.exposeString('code'),
    message: t.exposeString('message'),
    field: t.stringList({ nullable: true, resolve: (e) => e.field ?? null }),
  }),
});

export const StreamGapRef = builder
  .objectRef<{ requestedAfter: string; firstAvailableCursor: string }>('StreamGap')
  .implement({
    description:
      'Events after `requestedAfter` and before `firstAvailableCursor` were removed by retention and cannot be replayed.',
    fields: (t) => ({
      requestedAfter: t.exposeString('requestedAfter'),
      firstAvailableCursor: t.exposeString('firstAvailableCursor'),
    }),
  });

export interface WithUserErrors {
  userErrors: UserErrorShape[];
}

/**
 * Mutations answer expected failures in `userErrors` (graphql-api.md); the service rolled its transaction back, so
 * the database is unchanged. Anything else propagates (FORBIDDEN, or a masked internal error).
 */
export async function withUserErrors<T extends object>(fn: () => Promise<T>): Promise<Partial<T> & WithUserErrors> {
  try {
    return { ...(await fn()), userErrors: [] };
  } catch (e) {
    const userErrors = toUserErrors(e);
    if (userErrors) return { userErrors } as Partial<T> & WithUserErrors;
    throw e;
  }
}

export const codesDescription = (what: string, codes: string[]): string =>
  `${what}\n\nuserErrors codes: ${codes.join(', ')}.`;
