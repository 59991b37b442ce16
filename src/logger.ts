import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type { PinoPretty as PinoPrettyFn } from 'pino-pretty';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT=auto: human-readable lines when stdout is a terminal, JSON lines (for log collectors) otherwise. */
export function resolveLogFormat(setting: 'auto' | LogFormat, isTTY = process.stdout.isTTY === true): LogFormat {
  return setting === 'auto' ? (isTTY ? 'pretty' : 'json') : setting;
}

/** pino with secrets redacted wherever they could appear (architecture.md habit 11). */
export function createLogger(level: string, format: LogFormat = 'json', destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'thingql' },
    redact: {
      paths: [
        'password',
        'secret',
        'deviceSecret',
        'token',
        'authorization',
        '*.password',
        '*.deviceSecret',
        '*.token',
        '*.authorization',
      ],
      censor: '[redacted]',
    },
  };
  if (format === 'pretty') {
    // In this thread and synchronous: no transport worker, and nothing is lost when the process exits.
    const colorize = destination === undefined && process.stdout.isTTY === true;
    // Loaded only for this format (JSON, the default off a terminal, never needs its ~9 MB); require() keeps this sync.
    const { PinoPretty } = createRequire(import.meta.url)('pino-pretty') as { PinoPretty: typeof PinoPrettyFn };
    return pino(
      options,
      PinoPretty({
        colorize,
        sync: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,service',
        ...(destination ? { destination } : {}),
      }),
    );
  }
  return destination ? pino(options, destination) : pino(options);
}
