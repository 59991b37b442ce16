import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { gql, subscribe } from './api.ts';

export interface QueryState<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
  setData: (f: (d: T) => T) => void;
}

/** Run a query on mount and whenever `deps` change. */
export function useQuery<T = any>(
  query: string,
  variables: Record<string, unknown> = {},
  deps: unknown[] = [],
): QueryState<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    gql<T>(query, variables).then(
      (data) => mine === seq.current && setState({ data, error: null, loading: false }),
      (e: Error) => mine === seq.current && setState({ data: null, error: e.message, loading: false }),
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  const setData = useCallback((f: (d: T) => T) => setState((s) => (s.data ? { ...s, data: f(s.data) } : s)), []);
  return { ...state, reload, setData };
}

/** A live subscription while mounted (and while `enabled`); `onData` always sees the latest closure. */
export function useSubscription<T = any>(
  query: string,
  variables: Record<string, unknown> | null,
  onData: (d: T) => void,
): string | null {
  const cb = useRef(onData);
  cb.current = onData;
  const [error, setError] = useState<string | null>(null);
  const key = variables ? JSON.stringify(variables) : null;
  useEffect(() => {
    if (!variables) return;
    setError(null);
    return subscribe<T>(query, variables, { next: (d) => cb.current(d), error: setError });
  }, [key]);
  return error;
}

/** Run a mutation: busy flag, top-level error and the payload's userErrors. */
export function useMutation<T = any>(query: string) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async (variables: Record<string, unknown>): Promise<T | null> => {
      setBusy(true);
      setError(null);
      try {
        return await gql<T>(query, variables);
      } catch (e) {
        setError((e as Error).message);
        return null;
      } finally {
        setBusy(false);
      }
    },
    [query],
  );
  return { run, busy, error };
}
