import type { GroupCommitter } from '../../events/committer.ts';
import { insertEventHistory, insertPropertyHistory, recordRequestKeys } from '../../db/repositories/history.ts';

export type { EventRow, HistoryRow } from '../../db/repositories/history.ts';

/** The batch sinks of the thing-data tables, and the dedupe check: one statement each per group commit. */
export function registerThingDataSinks(committer: GroupCommitter): void {
  committer.sink('propertyHistory', insertPropertyHistory);
  committer.sink('eventHistory', insertEventHistory);
  committer.dedupeWith(recordRequestKeys);
}
