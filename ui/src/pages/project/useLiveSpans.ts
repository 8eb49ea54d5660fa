// Live updates of the spans table: while the newest spans are in view, each notice of the
// `spansStored` subscription (ui/src/live.ts) refetches the newest page; polling takes over when
// the WebSocket cannot be used.
import { useEffect, useState } from 'react';
import { subscribeSpansStored } from '../../live';
import type { Applied } from './filters';

const POLL_MS = 3000;
/** Least time between two refetches triggered by live notices. */
const NOTICE_MIN_GAP_MS = 500;
/** Scrolled less than this counts as "at the top", where new rows appear. */
const AT_TOP_PX = 48;

/** What the page knows that decides whether live updates make sense. */
export interface LiveInputs {
  /** The project's name (the subscription is by name); undefined until the header loads. */
  project: string | undefined;
  applied: Applied;
  /** The first page is loading: refreshes wait for it. */
  loading: boolean;
  error: unknown;
  notFound: boolean;
  /** See `SpansList.refreshNewest`. */
  refreshNewest: (signal: AbortSignal) => Promise<string[]>;
}

/** What `useLiveSpans` gives back. */
export interface LiveState {
  live: boolean;
  /** Why updates are paused ("" when live). */
  pausedReason: string;
  togglePaused: () => void;
  /** Rows that arrived with the last refresh, to highlight. */
  newIds: ReadonlySet<string>;
  /** How new spans are learnt of: pushed over the WebSocket, or polled; null before either. */
  transport: 'push' | 'poll' | null;
}

/**
 * Keeps the spans table current while the newest spans are in view: the tab visible, scrolled to
 * the top, newest first, an open-ended time range, and not paused by the user.
 */
export function useLiveSpans({ project, applied, loading, error, notFound, refreshNewest }: LiveInputs): LiveState {
  const [atTop, setAtTop] = useState(true);
  const [visible, setVisible] = useState(() => document.visibilityState === 'visible');
  const [userPaused, setUserPaused] = useState(false);
  const [newIds, setNewIds] = useState<ReadonlySet<string>>(() => new Set());
  const [transport, setTransport] = useState<'push' | 'poll' | null>(null);

  useEffect(() => {
    const onScroll = () => setAtTop(window.scrollY < AT_TOP_PX);
    const onVis = () => setVisible(document.visibilityState === 'visible');
    window.addEventListener('scroll', onScroll, { passive: true });
    document.addEventListener('visibilitychange', onVis);
    onScroll();
    return () => {
      window.removeEventListener('scroll', onScroll);
      document.removeEventListener('visibilitychange', onVis);
    };
  }, []);

  const customEnded = applied.range === 'custom' && !!applied.to;
  const newestFirst = applied.sort === 'START_TIME_DESC';
  const live = !userPaused && visible && atTop && newestFirst && !customEnded && !notFound && !error;
  const pausedReason = userPaused
    ? 'paused by you'
    : !visible
      ? 'tab hidden'
      : !newestFirst
        ? 'oldest-first sort'
        : customEnded
          ? 'fixed time range'
          : !atTop
            ? 'scrolled down'
            : error
              ? 'error'
              : '';

  useEffect(() => {
    if (!live || !project) return;
    let stopped = false;
    const ctrl = new AbortController(); // aborts every refresh still running when this stops
    const tick = () => {
      if (stopped || loading) return;
      refreshNewest(ctrl.signal).then(
        (ids) => {
          if (!stopped && ids.length > 0) setNewIds(new Set(ids));
        },
        () => {
          /* a failed refresh is retried on the next notice or poll */
        },
      );
    };
    // Refetch on every notice of the subscription, at most twice a second; poll instead when
    // the WebSocket cannot be used.
    let timer: ReturnType<typeof setTimeout> | undefined;
    let again = false;
    const soon = () => {
      if (timer !== undefined) {
        again = true;
        return;
      }
      tick();
      timer = setTimeout(() => {
        timer = undefined;
        if (again) {
          again = false;
          soon();
        }
      }, NOTICE_MIN_GAP_MS);
    };
    let poll: ReturnType<typeof setInterval> | undefined;
    const unsubscribe = subscribeSpansStored(
      project,
      () => {
        if (!stopped) setTransport('push');
        soon();
      },
      () => {
        if (stopped || poll !== undefined) return;
        setTransport('poll');
        poll = setInterval(tick, POLL_MS);
      },
    );
    return () => {
      stopped = true;
      unsubscribe();
      clearInterval(poll);
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [live, project, loading, refreshNewest]);

  return { live, pausedReason, togglePaused: () => setUserPaused((p) => !p), newIds, transport };
}
