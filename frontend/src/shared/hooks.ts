/**
 * Data hooks: one read (`useResource`), a cursor-paged list (`usePaged`), a write (`useAction`) and
 * the confirmation a page shows after a write (`useNotice`), which the next write takes down.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { type ApiProblem, api, asProblem, type Page, withQuery } from './api.ts';

export type Loadable<T> =
  | { readonly status: 'loading' }
  | { readonly status: 'error'; readonly problem: ApiProblem }
  | { readonly status: 'ready'; readonly data: T };

/**
 * GETs `path` (nothing while it is null) and again whenever `reload` is called or the path changes.
 * A reload is a refresh the user asked for: it is not answered from the API's caches.
 */
export function useResource<T>(path: string | null): { state: Loadable<T>; reload: () => void } {
  const [state, setState] = useState<Loadable<T>>({ status: 'loading' });
  const [generation, setGeneration] = useState(0);
  const shown = useRef<string | null>(null);
  const revalidate = useRef(false);
  useEffect(() => {
    if (path === null) return undefined;
    const controller = new AbortController();
    // A reload keeps showing what is on screen while it fetches; a new path starts from loading.
    void generation;
    if (shown.current !== path) {
      shown.current = path;
      setState({ status: 'loading' });
    }
    const fresh = revalidate.current;
    revalidate.current = false;
    api
      .get<T>(path, { signal: controller.signal, revalidate: fresh })
      .then((data) => setState({ status: 'ready', data }))
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setState({ status: 'error', problem: asProblem(error) });
      });
    return () => controller.abort();
  }, [path, generation]);
  const reload = useCallback(() => {
    revalidate.current = true;
    setGeneration((value) => value + 1);
  }, []);
  return { state, reload };
}

export interface PagedList<T> {
  readonly state: Loadable<readonly T[]>;
  readonly hasMore: boolean;
  readonly loadingMore: boolean;
  readonly moreProblem: ApiProblem | null;
  loadMore(): void;
  reload(): void;
}

/** A list answered as `{ items, cursor? }`, extended page by page with `?cursor=`; a reload revalidates. */
export function usePaged<T>(path: string | null, limit = 25): PagedList<T> {
  const [state, setState] = useState<Loadable<readonly T[]>>({ status: 'loading' });
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreProblem, setMoreProblem] = useState<ApiProblem | null>(null);
  const [generation, setGeneration] = useState(0);
  const current = useRef(0);
  const revalidate = useRef(false);

  useEffect(() => {
    if (path === null) return undefined;
    const controller = new AbortController();
    const ticket = ++current.current;
    void generation;
    const fresh = revalidate.current;
    revalidate.current = false;
    api
      .get<Page<T>>(withQuery(path, { limit: String(limit) }), {
        signal: controller.signal,
        revalidate: fresh,
      })
      .then((page) => {
        if (ticket !== current.current) return;
        setState({ status: 'ready', data: page.items ?? [] });
        setCursor(page.cursor);
        setMoreProblem(null);
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setState({ status: 'error', problem: asProblem(error) });
      });
    return () => controller.abort();
  }, [path, limit, generation]);

  const loadMore = useCallback(() => {
    if (path === null || cursor === undefined) return;
    const ticket = current.current;
    setLoadingMore(true);
    api
      .get<Page<T>>(withQuery(path, { limit: String(limit), cursor }))
      .then((page) => {
        if (ticket !== current.current) return;
        setState((previous) =>
          previous.status === 'ready'
            ? { status: 'ready', data: [...previous.data, ...(page.items ?? [])] }
            : previous,
        );
        setCursor(page.cursor);
        setMoreProblem(null);
      })
      .catch((error: unknown) => setMoreProblem(asProblem(error)))
      .finally(() => setLoadingMore(false));
  }, [path, limit, cursor]);

  const reload = useCallback(() => {
    revalidate.current = true;
    setGeneration((value) => value + 1);
  }, []);
  return { state, hasMore: cursor !== undefined, loadingMore, moreProblem, loadMore, reload };
}

export interface Action<A extends unknown[], R> {
  run(...args: A): Promise<R | undefined>;
  readonly pending: boolean;
  readonly problem: ApiProblem | null;
  reset(): void;
}

// Every write that starts tells the pages' notices: "User cy created." must not stay on screen
// beside the problem of the next write, whichever form of the page that write came from.
const writeListeners = new Set<() => void>();

/**
 * A page's confirmation after a write (shown with `Notice`), and its setter: every write that starts
 * (any `useAction` of the page) clears it, so it never stands beside a later write's problem.
 */
export function useNotice(initial = ''): [string, (text: string) => void] {
  const [notice, setNotice] = useState(initial);
  useEffect(() => {
    const clear = () => setNotice('');
    writeListeners.add(clear);
    return () => {
      writeListeners.delete(clear);
    };
  }, []);
  return [notice, setNotice];
}

/** A write: tracks whether it is running and keeps its problem for display; never throws. */
export function useAction<A extends unknown[], R>(perform: (...args: A) => Promise<R>): Action<A, R> {
  const [pending, setPending] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const latest = useRef(perform);
  latest.current = perform;
  const run = useCallback(async (...args: A) => {
    for (const clear of writeListeners) clear();
    setPending(true);
    setProblem(null);
    try {
      return await latest.current(...args);
    } catch (error) {
      setProblem(asProblem(error));
      return undefined;
    } finally {
      setPending(false);
    }
  }, []);
  const reset = useCallback(() => setProblem(null), []);
  return { run, pending, problem, reset };
}
