/**
 * Platform events: everything a device or a client does becomes one of these, in the commit-ordered event log
 * (architecture.md §1). `data` holds the reference's forwarding shape (alink-protocol.md §6) for that event.
 */
import { PLATFORM_EVENT_TYPES, type PlatformEventType, type StoredEvent } from './catalog.ts';

export type { NewEvent, StoredEvent } from './catalog.ts';

/** Every platform event type; their data shapes are in catalog.ts. */
export const EVENT_TYPES = PLATFORM_EVENT_TYPES;

export type EventType = PlatformEventType;

/** What a reader asks for; every field narrows. `productKeys` is the caller's scope (API keys limited to products). */
export interface EventFilter {
  types: readonly string[];
  productKey?: string | null | undefined;
  deviceName?: string | null | undefined;
  productKeys?: readonly string[] | null | undefined;
  /** Extra predicate on the event body (topic filters, identifiers...). */
  where?: ((e: StoredEvent) => boolean) | undefined;
}

export function matchesFilter(f: EventFilter, e: StoredEvent): boolean {
  if (!f.types.includes(e.type)) return false;
  if (f.productKey != null && e.productKey !== f.productKey) return false;
  if (f.deviceName != null && e.deviceName !== f.deviceName) return false;
  if (f.productKeys != null && (e.productKey == null || !f.productKeys.includes(e.productKey))) return false;
  return f.where ? f.where(e) : true;
}
