import { useCallback, useEffect, useRef, useState, type DependencyList } from 'react';
import { isAbort } from '../api';

/** What `useAsync` gives back. */
export interface AsyncState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /**
   * Runs the loader again, keeping the current data and error until it settles; resolves then.
   * Never rejects.
   */
  reload: () => Promise<void>;
  /** Replaces the data in place (e.g. after a mutation), without loading. */
  setData: (fn: (prev: T | undefined) => T | undefined) => void;
}

/**
 * The one loading hook of the UI: runs `load` when `deps` change (and on `reload()`). A new run
 * aborts the previous one through its signal, results of superseded or unmounted runs are dropped,
 * and errors land in `error`, never as unhandled rejections. Data is kept across runs; a `deps`
 * change clears the error at once, a `reload()` only when it succeeds.
 */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): AsyncState<T> {
  const [data, setDataState] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const current = useRef<AbortController | null>(null);

  const run = useCallback((clearError: boolean): Promise<void> => {
    current.current?.abort();
    const ctrl = new AbortController();
    current.current = ctrl;
    setLoading(true);
    if (clearError) setError(undefined);
    let promise: Promise<T>;
    try {
      promise = loadRef.current(ctrl.signal);
    } catch (err) {
      promise = Promise.reject(err);
    }
    return promise.then(
      (value) => {
        if (current.current !== ctrl) return;
        setDataState(() => value);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (current.current !== ctrl || isAbort(err)) return;
        setError(err);
        setLoading(false);
      },
    );
  }, []);

  useEffect(() => {
    void run(true);
    return () => {
      current.current?.abort();
      current.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  const reload = useCallback(() => run(false), [run]);
  const setData = useCallback((f: (prev: T | undefined) => T | undefined) => setDataState(f), []);
  return { data, error, loading, reload, setData };
}

export default useAsync;
