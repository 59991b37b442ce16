/** How the group committer's failures are told apart: the errors it raises, and which errors mean "unavailable". */

export class CommitterOverloaded extends Error {
  constructor() {
    super('ingest queue is full');
    this.name = 'CommitterOverloaded';
  }
}

/** A batch's transaction did not settle within `commitTimeoutMs`: its items fail as with an unreachable database. */
export class CommitTimeout extends Error {
  readonly code = 'COMMIT_TIMEOUT';
  constructor(ms: number) {
    super(`commit did not complete within ${ms} ms`);
    this.name = 'CommitTimeout';
  }
}

/** The SQLSTATE (or driver code) of an error, looking through wrappers such as drizzle's DrizzleQueryError. */
function codeOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Errors that say nothing about the items of a batch: the connection or the server (SQLSTATE classes 08 connection,
 * 53 resources, 57 operator intervention, 58 system; postgres.js CONNECTION_* / CONNECT_TIMEOUT; socket errnos; a
 * commit past its deadline).
 * Data errors (22, 23...) and plain exceptions are attributed to items and retried one by one.
 */
export function isUnavailable(err: unknown): boolean {
  const code = codeOf(err);
  if (code === undefined) return false;
  if (code === 'COMMIT_TIMEOUT') return true;
  if (/^(08|53|57|58)[0-9A-Z]{3}$/.test(code)) return true;
  return /^(CONNECT|CONNECTION_|E[A-Z]+$)/.test(code);
}

export function errorSummary(err: unknown): { code?: string; message: string } {
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  return code === undefined ? { message } : { code, message };
}
