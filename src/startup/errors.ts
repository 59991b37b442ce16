/**
 * Expected start failures: each names the setting involved and how to fix it, and is printed as plain text (no stack).
 * Codes are stable: PORT_IN_USE, PORT_FORBIDDEN, DATA_DIR_UNWRITABLE, DATA_DIR_LOCKED, DATABASE_UNREACHABLE,
 * DATABASE_REFUSED, TLS_FILE_UNREADABLE.
 */
export type StartupErrorCode =
  | 'PORT_IN_USE'
  | 'PORT_FORBIDDEN'
  | 'DATA_DIR_UNWRITABLE'
  | 'DATA_DIR_LOCKED'
  | 'DATABASE_UNREACHABLE'
  | 'DATABASE_REFUSED'
  | 'TLS_FILE_UNREADABLE'
  | 'ADMIN_TOKEN_IS_SET';

export class StartupError extends Error {
  constructor(
    readonly code: StartupErrorCode,
    /** The setting to look at, e.g. MQTT_PORT. */
    readonly setting: string,
    message: string,
    /** What to do about it, one or more sentences. */
    readonly fix: string,
  ) {
    super(message);
    this.name = 'StartupError';
  }

  /** The text printed to stderr: the problem, the setting, the fix. */
  describe(): string {
    return `${this.message}\n  setting: ${this.setting}\n  fix: ${this.fix}\n`;
  }
}

/** `--mqtt-port` for MQTT_PORT. */
export const flagOf = (setting: string): string => `--${setting.toLowerCase().replace(/_/g, '-')}`;

/** postgres://user:secret@host/db -> postgres://user:***@host/db (a URL is printed, never its password). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

const errnoCode = (err: unknown): string | undefined =>
  typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : undefined;

export { errnoCode };

/** A failed listen (EADDRINUSE, EACCES, EADDRNOTAVAIL) as a StartupError naming the setting. */
export function listenError(err: unknown, setting: string, host: string, port: number): Error {
  const code = errnoCode(err);
  const where = `${host}:${port}`;
  const other =
    setting === 'MQTT_PORT'
      ? 'another MQTT broker (e.g. Mosquitto) or another ThingQL'
      : setting === 'MQTTS_PORT'
        ? 'another MQTT broker or another ThingQL'
        : 'another program or another ThingQL';
  if (code === 'EADDRINUSE') {
    return new StartupError(
      'PORT_IN_USE',
      setting,
      `${setting} ${port} is already in use (${where}): ${other} listens there.`,
      `stop that program, or choose a free port: ${setting}=${port + 1} (or ${flagOf(setting)} ${port + 1}).`,
    );
  }
  if (code === 'EACCES') {
    return new StartupError(
      'PORT_FORBIDDEN',
      setting,
      `${setting} ${port}: this user may not listen on ${where}.`,
      `ports below 1024 need privileges: choose a port of 1024 or more (${setting}=${port < 1024 ? port + 4000 : port}).`,
    );
  }
  if (code === 'EADDRNOTAVAIL') {
    return new StartupError(
      'PORT_FORBIDDEN',
      'HOST',
      `HOST ${host} is not an address of this machine (listening for ${setting} ${port}).`,
      `set HOST to one of this machine's addresses, or 0.0.0.0 for all of them.`,
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}
