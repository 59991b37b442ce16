import type { Config } from '../config.ts';
import type { EventLog } from '../events/log.ts';
import type { Logger } from '../logger.ts';
import type { HistoryService } from './history.ts';

const DAY = 86_400_000;

/**
 * Retention is configuration (EVENT_RETENTION_DAYS, HISTORY_RETENTION_DAYS): a background job deletes expired rows
 * in small batches every few minutes. Running it on several instances at once is harmless (each batch deletes what
 * is still there).
 */
export function startRetention(
  deps: { config: Config; log: EventLog; history: HistoryService; logger: Logger },
  everyMs = 10 * 60_000,
) {
  const { config, log, history, logger } = deps;
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= (async () => {
      const now = Date.now();
      const events = await log.prune(new Date(now - config.EVENT_RETENTION_DAYS * DAY));
      const rows = await history.prune(new Date(now - config.HISTORY_RETENTION_DAYS * DAY));
      if (events + rows > 0) logger.info({ events, historyRows: rows }, 'retention: expired data deleted');
    })()
      .catch((err: unknown) => logger.warn({ err }, 'retention run failed'))
      .finally(() => (running = null));
    return running;
  };
  const timer = setInterval(run, everyMs);
  timer.unref();
  const first = setTimeout(run, 30_000);
  first.unref();
  return {
    run,
    async stop() {
      clearInterval(timer);
      clearTimeout(first);
      await running;
    },
  };
}
