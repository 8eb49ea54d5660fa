import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { gql, isAbort } from '../api';
import { subscribeSpansStored } from '../live';
import { Link, navigate, setSearch, useLocation } from '../router';
import { useAsync } from '../components/useAsync';
import { Loading } from '../components/Loading';
import { ErrorBox } from '../components/ErrorBox';
import { Empty, useTitle } from '../components/misc';
import { KindBadge, SPAN_KINDS, StatusBadge } from '../components/Badges';
import { ProjectHeader, PROJECT_SUMMARY_FIELDS, type ProjectSummary } from '../components/ProjectHeader';
import { formatCost, formatMs, formatNumber, formatRelative, formatTime, formatTimePrecise, preview } from '../format';

interface SpanRow {
  id: string;
  spanId: string;
  traceId: string;
  parentId: string | null;
  name: string;
  spanKind: string;
  statusCode: string;
  statusMessage: string;
  startTime: string;
  latencyMs: number;
  model: string | null;
  tokenPrompt: number | null;
  tokenCompletion: number | null;
  tokenTotal: number | null;
  cost: number | null;
  input: { value: string; mimeType: string | null } | null;
  output: { value: string; mimeType: string | null } | null;
}

interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

type Sort = 'START_TIME_DESC' | 'START_TIME_ASC';
type Range = '15m' | '1h' | '24h' | '7d' | 'all' | 'custom';

const RANGES: { value: Range; label: string; ms?: number }[] = [
  { value: '15m', label: 'Last 15 min', ms: 15 * 60e3 },
  { value: '1h', label: 'Last hour', ms: 3600e3 },
  { value: '24h', label: 'Last 24 hours', ms: 24 * 3600e3 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 24 * 3600e3 },
  { value: 'all', label: 'All time' },
  { value: 'custom', label: 'Custom…' },
];

const PAGE_SIZE = 50;
const POLL_MS = 3000;
/** Least time between two refetches triggered by live notices. */
const NOTICE_MIN_GAP_MS = 500;

const HEADER_QUERY = `query ProjectHeader($id: ID!) {
  project(id: $id) { ${PROJECT_SUMMARY_FIELDS} spanNames models }
}`;

// The sort is inlined as an enum literal so the query does not depend on the enum's type name.
const spansQuery = (sort: Sort) => `query ProjectSpans($id: ID!, $first: Int, $after: String, $filter: SpanFilter) {
  project(id: $id) {
    id
    spans(first: $first, after: $after, filter: $filter, sort: ${sort === 'START_TIME_ASC' ? 'START_TIME_ASC' : 'START_TIME_DESC'}) {
      nodes {
        id spanId traceId parentId name spanKind statusCode statusMessage startTime latencyMs
        model tokenPrompt tokenCompletion tokenTotal cost
        input { value mimeType } output { value mimeType }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

interface Applied {
  range: Range;
  from: string; // datetime-local, custom range only
  to: string;
  kinds: string[];
  status: string;
  name: string;
  model: string;
  attr: string;
  sort: Sort;
  rootOnly: boolean;
}

function readApplied(search: string): Applied {
  const q = new URLSearchParams(search);
  const range = (q.get('range') as Range) || 'all';
  return {
    range: RANGES.some((r) => r.value === range) ? range : 'all',
    from: q.get('from') ?? '',
    to: q.get('to') ?? '',
    kinds: q.getAll('kind'),
    status: q.get('status') ?? '',
    name: q.get('name') ?? '',
    model: q.get('model') ?? '',
    attr: q.get('attr') ?? '',
    sort: q.get('sort') === 'asc' ? 'START_TIME_ASC' : 'START_TIME_DESC',
    rootOnly: q.get('root') === '1',
  };
}

function writeApplied(a: Applied): URLSearchParams {
  const q = new URLSearchParams();
  if (a.range !== 'all') q.set('range', a.range);
  if (a.range === 'custom') {
    if (a.from) q.set('from', a.from);
    if (a.to) q.set('to', a.to);
  }
  for (const k of a.kinds) q.append('kind', k);
  if (a.status) q.set('status', a.status);
  if (a.name) q.set('name', a.name);
  if (a.model) q.set('model', a.model);
  if (a.attr) q.set('attr', a.attr);
  if (a.sort === 'START_TIME_ASC') q.set('sort', 'asc');
  if (a.rootOnly) q.set('root', '1');
  return q;
}

/** "key=value": value parsed as JSON when it parses, else kept as a string. */
export function parseAttributeFilter(s: string): { key: string; value: unknown } | null | 'invalid' {
  const t = s.trim();
  if (!t) return null;
  const eq = t.indexOf('=');
  if (eq <= 0) return 'invalid';
  const key = t.slice(0, eq).trim();
  const raw = t.slice(eq + 1).trim();
  if (!key) return 'invalid';
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  return { key, value };
}

function localToIso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function buildFilter(a: Applied): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  const r = RANGES.find((x) => x.value === a.range);
  if (r?.ms) f.startTime = new Date(Date.now() - r.ms).toISOString();
  if (a.range === 'custom') {
    const s = localToIso(a.from);
    const e = localToIso(a.to);
    if (s) f.startTime = s;
    if (e) f.endTime = e;
  }
  if (a.kinds.length) f.kinds = a.kinds;
  if (a.status) f.statusCodes = [a.status];
  if (a.name.trim()) f.names = [a.name.trim()];
  if (a.model.trim()) f.models = [a.model.trim()];
  const attr = parseAttributeFilter(a.attr);
  if (attr && attr !== 'invalid') f.attributes = [attr];
  if (a.rootOnly) f.rootOnly = true;
  return f;
}

function ioPreview(v: SpanRow['input']): string {
  if (!v || !v.value) return '';
  return preview(v.value, 160);
}

/** Debounced text input that commits on Enter at once. */
function DebouncedInput({
  value,
  onCommit,
  delay = 400,
  ...rest
}: Omit<React.InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange'> & {
  value: string;
  onCommit: (v: string) => void;
  delay?: number;
}) {
  const [text, setText] = useState(value);
  const commitRef = useRef(onCommit);
  commitRef.current = onCommit;
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (text === value) return;
    const t = setTimeout(() => commitRef.current(text), delay);
    return () => clearTimeout(t);
  }, [text, value, delay]);
  return (
    <input
      {...rest}
      value={text}
      onChange={(e) => setText(e.target.value)}
      onKeyDown={(e) => {
        if (e.key === 'Enter') commitRef.current(text);
        if (e.key === 'Escape') {
          setText('');
          commitRef.current('');
        }
      }}
    />
  );
}

export default function ProjectPage({ params }: { params: Record<string, string> }) {
  const projectId = params.projectId;
  const { search } = useLocation();
  const applied = useMemo(() => readApplied(search), [search]);
  const filterKey = useMemo(() => writeApplied(applied).toString(), [applied]);

  const header = useAsync(
    (signal) =>
      gql<{ project: (ProjectSummary & { spanNames: string[]; models: string[] }) | null }>(
        HEADER_QUERY,
        { id: projectId },
        { signal },
      ),
    [projectId],
  );

  const update = useCallback(
    (patch: Partial<Applied>) => setSearch(writeApplied({ ...readApplied(window.location.search), ...patch })),
    [],
  );

  // ---- list state
  const [rows, setRows] = useState<SpanRow[]>([]);
  const [pageInfo, setPageInfo] = useState<PageInfo | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [notFound, setNotFound] = useState(false);
  const genRef = useRef(0); // bumps on every filter change; stale responses are dropped
  const busyRef = useRef(false);
  const stateRef = useRef({ rows, pageInfo, applied });
  stateRef.current = { rows, pageInfo, applied };

  const fetchPage = useCallback(
    (a: Applied, after: string | null, signal?: AbortSignal) =>
      gql<{ project: { spans: { nodes: SpanRow[]; pageInfo: PageInfo } } | null }>(
        spansQuery(a.sort),
        { id: projectId, first: PAGE_SIZE, after, filter: buildFilter(a) },
        { signal },
      ),
    [projectId],
  );

  // first page whenever the filter changes
  useEffect(() => {
    const gen = ++genRef.current;
    const ctrl = new AbortController();
    setLoading(true);
    setError(undefined);
    setRows([]);
    setPageInfo(null);
    busyRef.current = true;
    fetchPage(applied, null, ctrl.signal)
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
    return () => ctrl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filterKey, fetchPage]);

  const loadMore = useCallback(() => {
    const { pageInfo: pi, applied: a } = stateRef.current;
    if (busyRef.current || !pi?.hasNextPage || !pi.endCursor) return;
    const gen = genRef.current;
    busyRef.current = true;
    setLoadingMore(true);
    fetchPage(a, pi.endCursor)
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
  }, [fetchPage]);

  // ---- infinite scroll
  const sentinelRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = sentinelRef.current;
    if (!el || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) loadMore();
      },
      { rootMargin: '0px 0px 600px 0px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [loadMore]);
  // after a page lands, the sentinel may still be in range (the observer fires only on changes)
  useEffect(() => {
    if (loading || loadingMore || !pageInfo?.hasNextPage) return;
    const el = sentinelRef.current;
    if (!el) return;
    if (el.getBoundingClientRect().top < window.innerHeight + 600) loadMore();
  }, [rows, loading, loadingMore, pageInfo, loadMore]);

  // ---- live updates
  const [atTop, setAtTop] = useState(true);
  const [visible, setVisible] = useState(() => document.visibilityState === 'visible');
  const [userPaused, setUserPaused] = useState(false);
  useEffect(() => {
    const onScroll = () => setAtTop(window.scrollY < 48);
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
  const live =
    !userPaused && visible && atTop && applied.sort === 'START_TIME_DESC' && !customEnded && !notFound && !error;
  const pausedReason = userPaused
    ? 'paused by you'
    : !visible
      ? 'tab hidden'
      : applied.sort !== 'START_TIME_DESC'
        ? 'oldest-first sort'
        : customEnded
          ? 'fixed time range'
          : !atTop
            ? 'scrolled down'
            : error
              ? 'error'
              : '';
  const [newIds, setNewIds] = useState<Set<string>>(() => new Set());
  const liveProject = header.data?.project?.name;

  useEffect(() => {
    if (!live || !liveProject) return;
    let stopped = false;
    let ctrl: AbortController | null = null;
    const tick = () => {
      if (stopped || busyRef.current || loading) return;
      const gen = genRef.current;
      const a = stateRef.current.applied;
      ctrl = new AbortController();
      fetchPage(a, null, ctrl.signal)
        .then((d) => {
          if (stopped || gen !== genRef.current || !d.project) return;
          const page = d.project.spans;
          const cur = stateRef.current.rows;
          const have = new Set(cur.map((r) => r.id));
          const fresh = page.nodes.filter((n) => !have.has(n.id));
          if (fresh.length === 0) return;
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
          setNewIds(new Set(fresh.map((n) => n.id)));
        })
        .catch(() => {
          /* a failed poll is retried on the next tick */
        });
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
    const unsubscribe = subscribeSpansStored(liveProject, soon, () => {
      if (!stopped && poll === undefined) poll = setInterval(tick, POLL_MS);
    });
    return () => {
      stopped = true;
      unsubscribe();
      clearInterval(poll);
      clearTimeout(timer);
      ctrl?.abort();
    };
  }, [live, liveProject, loading, fetchPage]);

  const project = header.data?.project;
  useTitle(project ? `${project.name} · spans` : null);
  const attrState = parseAttributeFilter(applied.attr);
  const base = `/projects/${encodeURIComponent(projectId)}`;

  if (notFound || (header.data && !project)) {
    return (
      <div className="page">
        <Empty title="Project not found">
          <Link to="/">Back to projects</Link>
        </Empty>
      </div>
    );
  }

  return (
    <div className="page page-wide">
      <ProjectHeader
        projectId={projectId}
        project={project}
        tab="spans"
        right={
          <button
            type="button"
            data-testid="live-indicator"
            className={'live-indicator' + (live ? ' is-live' : '')}
            title={live ? 'New spans appear as they are stored — click to pause' : `Paused (${pausedReason}) — click to resume`}
            onClick={() => setUserPaused(!userPaused)}
          >
            <span className="live-dot" aria-hidden="true" />
            {live ? 'Live' : 'Paused'}
          </button>
        }
      />
      <ErrorBox error={header.error} />

      <div className="filter-bar">
        <label className="field">
          <span className="field-label">Time</span>
          <select
            value={applied.range}
            data-testid="filter-time"
            onChange={(e) => update({ range: e.target.value as Range })}
          >
            {RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        {applied.range === 'custom' && (
          <>
            <label className="field">
              <span className="field-label">From</span>
              <input
                type="datetime-local"
                value={applied.from}
                step={1}
                data-testid="filter-from"
                onChange={(e) => update({ from: e.target.value })}
              />
            </label>
            <label className="field">
              <span className="field-label">To</span>
              <input
                type="datetime-local"
                value={applied.to}
                step={1}
                data-testid="filter-to"
                onChange={(e) => update({ to: e.target.value })}
              />
            </label>
          </>
        )}
        <label className="field">
          <span className="field-label">
            Kind{applied.kinds.length > 0 && <span className="field-count">{applied.kinds.length}</span>}
          </span>
          <span className="multi-wrap">
          <select
            multiple
            className="multi"
            value={applied.kinds}
            data-testid="filter-kind"
            title="Ctrl/⌘-click to pick several"
            onChange={(e) => update({ kinds: Array.from(e.target.selectedOptions).map((o) => o.value) })}
          >
            {SPAN_KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
          </span>
        </label>
        <label className="field">
          <span className="field-label">Status</span>
          <select value={applied.status} data-testid="filter-status" onChange={(e) => update({ status: e.target.value })}>
            <option value="">Any</option>
            <option value="OK">OK</option>
            <option value="ERROR">ERROR</option>
            <option value="UNSET">UNSET</option>
          </select>
        </label>
        <label className="field">
          <span className="field-label">Name</span>
          <DebouncedInput
            value={applied.name}
            onCommit={(v) => update({ name: v })}
            placeholder="span name"
            list="span-names"
            data-testid="filter-name"
            spellCheck={false}
          />
          <datalist id="span-names">
            {(project?.spanNames ?? []).map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </label>
        <label className="field">
          <span className="field-label">Model</span>
          <DebouncedInput
            value={applied.model}
            onCommit={(v) => update({ model: v })}
            placeholder="model"
            list="span-models"
            data-testid="filter-model"
            spellCheck={false}
          />
          <datalist id="span-models">
            {(project?.models ?? []).map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </label>
        <label className="field field-grow">
          <span className="field-label">Attribute</span>
          <DebouncedInput
            value={applied.attr}
            onCommit={(v) => update({ attr: v })}
            placeholder='key=value, e.g. llm.model_name=gpt-4o or metadata.n=3'
            data-testid="filter-attribute"
            className={attrState === 'invalid' ? 'invalid mono' : 'mono'}
            spellCheck={false}
            delay={600}
          />
        </label>
        <label className="field">
          <span className="field-label">Sort</span>
          <select
            value={applied.sort}
            data-testid="sort"
            onChange={(e) => update({ sort: e.target.value as Sort })}
          >
            <option value="START_TIME_DESC">Newest first</option>
            <option value="START_TIME_ASC">Oldest first</option>
          </select>
        </label>
        <label className="field field-check">
          <input
            type="checkbox"
            checked={applied.rootOnly}
            data-testid="filter-root"
            onChange={(e) => update({ rootOnly: e.target.checked })}
          />
          <span>Root spans only</span>
        </label>
        {filterKey && (
          <button type="button" className="btn btn-ghost" onClick={() => setSearch(new URLSearchParams())}>
            Clear
          </button>
        )}
      </div>
      {attrState === 'invalid' && <div className="hint error-text">Attribute filter must look like key=value</div>}

      <ErrorBox error={error} />
      <div className="table-wrap">
        <table className="table spans-table" data-testid="spans-table">
          <colgroup>
            <col style={{ width: 158 }} />
            <col style={{ width: '16%' }} />
            <col style={{ width: 92 }} />
            <col style={{ width: 76 }} />
            <col style={{ width: 76 }} />
            <col style={{ width: 120 }} />
            <col style={{ width: 70 }} />
            <col style={{ width: 70 }} />
            <col />
            <col />
          </colgroup>
          <thead>
            <tr>
              <th>Start time</th>
              <th>Name</th>
              <th>Kind</th>
              <th>Status</th>
              <th className="num">Latency</th>
              <th>Model</th>
              <th className="num">Tokens</th>
              <th className="num">Cost</th>
              <th>Input</th>
              <th>Output</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => {
              const to = `${base}/traces/${encodeURIComponent(s.traceId)}?span=${encodeURIComponent(s.spanId)}`;
              return (
                <tr
                  key={s.id}
                  data-testid="span-row"
                  data-span-id={s.spanId}
                  className={'clickable' + (newIds.has(s.id) ? ' row-new' : '')}
                  onClick={(e) => {
                    if ((e.target as HTMLElement).closest('a')) return;
                    if (window.getSelection()?.toString()) return;
                    navigate(to);
                  }}
                >
                  <td className="mono small" title={formatTimePrecise(s.startTime)}>
                    {formatTime(s.startTime)}
                  </td>
                  <td className="cell-ellipsis">
                    {!s.parentId && <span className="root-mark" title="root span">◆</span>}
                    <Link to={to} className="strong-link" title={s.name}>
                      {s.name}
                    </Link>
                  </td>
                  <td>
                    <KindBadge kind={s.spanKind} />
                  </td>
                  <td>
                    <StatusBadge code={s.statusCode} message={s.statusMessage} />
                  </td>
                  <td className="num mono">{formatMs(s.latencyMs)}</td>
                  <td className="cell-ellipsis small" title={s.model ?? undefined}>
                    {s.model ?? <span className="muted">—</span>}
                  </td>
                  <td
                    className="num"
                    title={
                      s.tokenTotal != null
                        ? `prompt ${formatNumber(s.tokenPrompt)} · completion ${formatNumber(s.tokenCompletion)}`
                        : undefined
                    }
                  >
                    {s.tokenTotal != null ? formatNumber(s.tokenTotal) : <span className="muted">—</span>}
                  </td>
                  <td className="num">{s.cost != null ? formatCost(s.cost) : <span className="muted">—</span>}</td>
                  <td className="cell-ellipsis io-preview" title={ioPreview(s.input)}>
                    {ioPreview(s.input)}
                  </td>
                  <td className="cell-ellipsis io-preview" title={ioPreview(s.output)}>
                    {ioPreview(s.output)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {loading && <Loading />}
        {!loading && rows.length === 0 && !error && (
          <Empty title="No spans match">
            {filterKey ? 'Try widening the time range or clearing filters.' : 'This project has no spans yet.'}
          </Empty>
        )}
        <div ref={sentinelRef} className="sentinel" aria-hidden="true" />
        {loadingMore && <Loading label="Loading more…" />}
        {!loading && rows.length > 0 && (
          <div className="table-foot muted small">
            {formatNumber(rows.length)} span{rows.length === 1 ? '' : 's'} loaded
            {pageInfo?.hasNextPage ? ' · scroll for more' : ' · end of results'}
            {rows.length > 0 && ` · newest ${formatRelative(rows[0].startTime)}`}
          </div>
        )}
      </div>
    </div>
  );
}
