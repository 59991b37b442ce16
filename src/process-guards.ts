import type { Logger } from './logger.ts';

/**
 * Process-wide safety nets for `thingql serve`. An error that no code path handles is logged at
 * error level with its stack (never hidden) and counted, and the platform keeps serving: one faulty callback must not
 * take every device and API client down with it. The handlers are installed once per process.
 */
let installed = false;

export function installProcessGuards(
  logger: Logger,
  onError?: (kind: 'unhandledRejection' | 'uncaughtException') => void,
): void {
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection (kept running)');
    onError?.('unhandledRejection');
  });
  process.on('uncaughtException', (err, origin) => {
    logger.error({ err, origin }, 'uncaught exception (kept running)');
    onError?.('uncaughtException');
  });
}
