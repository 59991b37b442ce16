import { pino, type Logger } from 'pino';

export type { Logger };

/** pino with secrets redacted wherever they could appear (architecture.md habit 11). */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'thingql' },
    redact: {
      paths: ['password', 'secret', 'deviceSecret', 'token', 'authorization', '*.password', '*.deviceSecret', '*.token', '*.authorization'],
      censor: '[redacted]',
    },
  });
}
