// The spans table's rows: the first page whenever the filters change, further pages as the
// table's end scrolls into view, and newest-first refreshes for live updates.
import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import { isAbort } from '../../api';
import type { Applied } from './filters';
import { fetchSpansPage, type PageInfo, type SpanRow } from './query';

/** How far below the viewport the table's end may be for the next page to load. */
const PRELOAD_MARGIN_PX = 600;

/** What `useSpansList` gives back. */
export interface SpansList {
  rows: SpanRow[];
  pageInfo: PageInfo | null;
  loading: boolean;
  loadingMore: boolean;
  error: unknown;
  notFound: boolean;
  /** Put on an element after the table: reaching it loads the next page. */
  sentinelRef: RefObject<HTMLDivElement | null>;
  /**
   * Fetches the newest page and puts its spans that are not listed yet on top; resolves to
   * their ids ([] when a page is loading, the filters changed meanwhile or `signal` aborted).
   */
  refreshNewest: (signal: AbortSignal) => Promise<string[]>;
}

/** The spans of `projectId` matching `applied`; `filterKey` is its URL form (changes reload). */
export function useSpansList(projectId: string, applied: Applied, filterKey: string): SpansList {
  const [rows, setRows] = useState<SpanRow[]>([]);
  const [pageInfo, setPageInfo] = useState<PageInfo | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [notFound, setNotFound] = useState(false);
  const genRef = useRef(0); // bumps on every filter change; stale responses are dropped
  const busyRef = useRef(false); // a first or next page is on its way
  const moreRef = useRef<AbortController | null>(null); // the next page's request
  const stateRef = useRef({ rows, pageInfo, applied });
  stateRef.current = { rows, pageInfo, applied };

  // first page whenever the filter changes
  useEffect(() => {
    const gen = ++genRef.current;
    const ctrl = new AbortController();
    setLoading(true);
    setLoadingMore(false);
    setError(undefined);
    setRows([]);
    setPageInfo(null);
    busyRef.current = true;
    fetchSpansPage(projectId, applied, null, ctrl.signal)
      .then((d) => {
        if (gen !== genRef.current) return;
        if (!d.project) {
          setNotFound(true);
        } else {
          setRows(d.project.spans.nodes);
          setPageInfo(d.project.spans.pageInfo);
        }
      })
      .catch((e) => {
        if (gen !== genRef.current || isAbort(e)) return;
        setError(e);
      })
      .finally(() => {
        if (gen !== genRef.current) return;
        busyRef.current = false;
        setLoading(false);
      });
    return () => {
      ctrl.abort();
      moreRef.current?.abort();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filterKey, projectId]);

  const loadMore = useCallback(() => {
    const { pageInfo: pi, applied: a } = stateRef.current;
    if (busyRef.current || !pi?.hasNextPage || !pi.endCursor) return;
    const gen = genRef.current;
    const ctrl = new AbortController();
    moreRef.current = ctrl;
    busyRef.current = true;
    setLoadingMore(true);
    fetchSpansPage(projectId, a, pi.endCursor, ctrl.signal)
      .then((d) => {
        if (gen !== genRef.current || !d.project) return;
        const page = d.project.spans;
        setRows((prev) => {
          const seen = new Set(prev.map((r) => r.id));
          return prev.concat(page.nodes.filter((n) => !seen.has(n.id)));
        });
        setPageInfo(page.pageInfo);
      })
      .catch((e) => {
        if (gen !== genRef.current || isAbort(e)) return;
        setError(e);
      })
      .finally(() => {
        if (gen !== genRef.current) return;
        busyRef.current = false;
        setLoadingMore(false);
      });
  }, [projectId]);

  // infinite scroll
  const sentinelRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = sentinelRef.current;
    if (!el || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) loadMore();
      },
      { rootMargin: `0px 0px ${PRELOAD_MARGIN_PX}px 0px` },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [loadMore]);
  // after a page lands, the sentinel may still be in range (the observer fires only on changes)
  useEffect(() => {
    if (loading || loadingMore || !pageInfo?.hasNextPage) return;
    const el = sentinelRef.current;
    if (!el) return;
    if (el.getBoundingClientRect().top < window.innerHeight + PRELOAD_MARGIN_PX) loadMore();
  }, [rows, loading, loadingMore, pageInfo, loadMore]);

  const refreshNewest = useCallback(
    async (signal: AbortSignal): Promise<string[]> => {
      if (busyRef.current) return [];
      const gen = genRef.current;
      const d = await fetchSpansPage(projectId, stateRef.current.applied, null, signal);
      if (signal.aborted || gen !== genRef.current || !d.project) return [];
      const page = d.project.spans;
      const cur = stateRef.current.rows;
      const have = new Set(cur.map((r) => r.id));
      const fresh = page.nodes.filter((n) => !have.has(n.id));
      if (fresh.length === 0) return [];
      const overlaps = fresh.length < page.nodes.length;
      if (!overlaps && cur.length > 0) {
        // more new spans than one page: start over from the newest page
        setRows(page.nodes);
        setPageInfo(page.pageInfo);
      } else {
        setRows((prev) => {
          const seen = new Set(prev.map((r) => r.id));
          return fresh.filter((n) => !seen.has(n.id)).concat(prev);
        });
        if (cur.length === 0) setPageInfo(page.pageInfo);
      }
      return fresh.map((n) => n.id);
    },
    [projectId],
  );

  return { rows, pageInfo, loading, loadingMore, error, notFound, sentinelRef, refreshNewest };
}
