/** The stable codes an expected service failure carries (a DomainError's `code`, or each of a DomainErrors' `errors`). */
export function errorCodes(err: unknown): string[] {
  const e = err as { code?: unknown; errors?: { code?: unknown }[] } | null;
  if (Array.isArray(e?.errors)) return e.errors.map((x) => String(x.code));
  return typeof e?.code === 'string' ? [e.code] : [];
}

/** Run `fn`, which must fail with an expected (coded) error; returns the error for further checks. */
export async function failure(fn: () => Promise<unknown>): Promise<{ codes: string[]; error: any }> {
  try {
    await fn();
  } catch (error) {
    return { codes: errorCodes(error), error };
  }
  throw new Error('expected the call to fail, it succeeded');
}
