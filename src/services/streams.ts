import { DomainError } from '../domain/errors.ts';
import { decodeCursor, encodeCursor } from '../events/cursor.ts';
import { EventStream } from '../events/stream.ts';
import { canSeeProduct, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import type { StoredEvent } from '../events/types.ts';

export interface StreamRequest {
  types: readonly string[];
  productKey?: string | null | undefined;
  deviceName?: string | null | undefined;
  after?: string | null | undefined;
  where?: (e: StoredEvent) => boolean;
}

/** Opens resumable event streams for subscribers, limited to what the caller may see. */
export function createStreamService(deps: ServiceDeps) {
  return {
    /** Every event at or below this cursor has been dispatched: subscribing after it misses nothing that follows. */
    headCursor(): string {
      return encodeCursor(deps.hub.position);
    },

    open(p: Principal, req: StreamRequest): EventStream {
      if (req.deviceName != null && req.productKey == null) {
        throw new DomainError('INVALID_INPUT', 'filtering by deviceName needs productKey too', ['deviceName']);
      }
      const after = req.after ? decodeCursor(req.after) : null;
      // A scoped key asking for another product gets an empty stream, exactly as for a product that does not exist.
      const productKeys =
        p.productKeys === null
          ? null
          : req.productKey != null
            ? canSeeProduct(p, req.productKey)
              ? null
              : []
            : p.productKeys;
      return new EventStream(deps.hub, deps.log, {
        filter: {
          types: req.types,
          productKey: req.productKey,
          deviceName: req.deviceName,
          productKeys,
          where: req.where,
        },
        after,
        bufferLimit: deps.config.SUBSCRIBER_BUFFER,
      });
    },
  };
}

export type StreamService = ReturnType<typeof createStreamService>;
