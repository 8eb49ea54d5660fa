import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { gql, GraphQLError } from '../api';
import { TRACE_QUERY, takeTracePreload } from '../trace/preload';
import { Link, setSearch, useSearch } from '../router';
import { useAsync } from '../components/useAsync';
import { Loading } from '../components/Loading';
import { ErrorBox } from '../components/ErrorBox';
import { Empty, useTitle } from '../components/misc';
import { StatusBadge } from '../components/Badges';
import { formatMs, formatNumber, formatTime } from '../format';
import { buildTree, flattenVisible, visibleAncestor, type TraceSpan } from '../trace/tree';
import { TraceTree } from '../trace/TraceTree';
import { SpanDetail } from '../trace/SpanDetail';
import { SPAN_QUERY, type Annotation, type SpanFull } from '../trace/detail/types';

interface TraceData {
  traceId: string;
  projectId: string;
  projectName: string;
  sessionId: string | null;
  startTime: string;
  endTime: string;
  latencyMs: number;
  tokenTotal: number;
  spanCount: number;
  spans: TraceSpan[];
  annotations: Annotation[];
}


function isTyping(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  if (!el || !el.tagName) return false;
  const tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable;
}

function DetailPane({ spanId }: { spanId: string | null }) {
  const cache = useRef(new Map<string, SpanFull>());
  const [, force] = useState(0);
  const { data, error, loading, reload } = useAsync(
    async (signal) => {
      if (!spanId) return null;
      const hit = cache.current.get(spanId);
      if (hit) return hit;
      const d = await gql<{ span: SpanFull | null }>(SPAN_QUERY, { spanId }, { signal });
      if (d.span) cache.current.set(spanId, d.span);
      return d.span;
    },
    [spanId],
  );
  const onAnnotations = useCallback((id: string, a: Annotation[]) => {
    const s = cache.current.get(id);
    if (s) cache.current.set(id, { ...s, annotations: a });
    force((x) => x + 1);
  }, []);
  if (!spanId) return <div className="detail-empty muted">Select a span</div>;
  const span = (spanId && cache.current.get(spanId)) || (data && data.spanId === spanId ? data : null);
  if (error) return <ErrorBox error={error} onRetry={reload} />;
  if (!span) {
    if (loading) return <Loading />;
    return <div className="detail-empty muted">Span {spanId} not found</div>;
  }
  return <SpanDetail key={span.spanId} span={span} onAnnotations={onAnnotations} />;
}

/** Looks for a trace that is not stored yet this many more times, this far apart. */
const NOT_YET_RETRIES = 5;
const NOT_YET_DELAY_MS = 400;

/** Resolves after `ms`, or rejects as aborted when `signal` aborts first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => {
      clearTimeout(timer);
      reject(new DOMException('Aborted', 'AbortError'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    if (signal.aborted) aborted();
    else signal.addEventListener('abort', aborted, { once: true });
  });
}

export default function TracePage({ params }: { params: Record<string, string> }) {
  const { projectId, traceId } = params;
  const search = useSearch();
  const spanParam = search.get('span');

  const { data, error, loading, reload } = useAsync(
    async (signal) => {
      const pre = takeTracePreload(traceId);
      const body = pre ? await pre : null;
      if (body && Array.isArray(body.errors) && body.errors.length) {
        throw new GraphQLError(body.errors.map((e) => e?.message ?? 'error').join('; '));
      }
      let result =
        body && body.data
          ? (body.data as { trace: TraceData | null })
          : await gql<{ trace: TraceData | null }>(TRACE_QUERY, { traceId }, { signal });
      // A link followed right after the spans were sent (the playground's) can arrive before the
      // writer has committed them: look again briefly before saying "not found".
      for (let attempt = 0; !result.trace && attempt < NOT_YET_RETRIES; attempt++) {
        await pause(NOT_YET_DELAY_MS, signal);
        result = await gql<{ trace: TraceData | null }>(TRACE_QUERY, { traceId }, { signal });
      }
      return result;
    },
    [traceId],
  );
  const trace = data?.trace ?? null;
  const tree = useMemo(() => (trace ? buildTree(trace.spans) : null), [trace]);

  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const rows = useMemo(() => (tree ? flattenVisible(tree, collapsed) : []), [tree, collapsed]);

  const selectedIdx = useMemo(() => {
    if (!tree) return -1;
    if (spanParam) {
      const i = tree.indexById.get(spanParam);
      if (i !== undefined) return i;
    }
    return tree.roots.length ? tree.roots[0] : -1;
  }, [tree, spanParam]);
  const selectedId = tree && selectedIdx >= 0 ? tree.spans[selectedIdx].spanId : spanParam;

  const [reveal, setReveal] = useState({ tick: 0, center: true });
  // reveal the deep-linked span once the tree is there
  useEffect(() => {
    if (tree) setReveal((r) => ({ tick: r.tick + 1, center: true }));
  }, [tree]);

  const select = useCallback((i: number, fromKeyboard = false) => {
    if (!tree || i < 0) return;
    const q = new URLSearchParams(window.location.search);
    q.set('span', tree.spans[i].spanId);
    setSearch(q);
    if (fromKeyboard) setReveal((r) => ({ tick: r.tick + 1, center: false }));
  }, [tree]);

  const toggle = useCallback((i: number) => {
    if (!tree) return;
    const id = tree.spans[i].spanId;
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, [tree]);

  const collapseAll = () => {
    if (!tree) return;
    setCollapsed(new Set(tree.parents.map((i) => tree.spans[i].spanId)));
    setReveal((r) => ({ tick: r.tick + 1, center: false }));
  };
  const expandAll = () => setCollapsed(new Set());

  // keyboard: up/down move the selection, left/right collapse/expand
  const kb = useRef({ tree, rows, selectedIdx, collapsed, select, toggle });
  kb.current = { tree, rows, selectedIdx, collapsed, select, toggle };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || isTyping(e.target)) return;
      const { tree: t, rows: r, selectedIdx: sel, collapsed: col, select: sel2, toggle: tog } = kb.current;
      if (!t || r.length === 0) return;
      const cur = sel >= 0 ? visibleAncestor(t, sel, col) : -1;
      const pos = cur >= 0 ? r.indexOf(cur) : -1;
      switch (e.key) {
        case 'ArrowDown':
        case 'j':
          e.preventDefault();
          sel2(r[Math.min(r.length - 1, pos + 1)], true);
          break;
        case 'ArrowUp':
        case 'k':
          e.preventDefault();
          sel2(r[Math.max(0, pos < 0 ? 0 : pos - 1)], true);
          break;
        case 'Home':
          e.preventDefault();
          sel2(r[0], true);
          break;
        case 'End':
          e.preventDefault();
          sel2(r[r.length - 1], true);
          break;
        case 'ArrowLeft':
          if (cur >= 0) {
            e.preventDefault();
            if (t.children[cur] && !col.has(t.spans[cur].spanId)) tog(cur);
            else if (t.parent[cur] >= 0) sel2(t.parent[cur], true);
          }
          break;
        case 'ArrowRight':
          if (cur >= 0 && t.children[cur] && col.has(t.spans[cur].spanId)) {
            e.preventDefault();
            tog(cur);
          }
          break;
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  // when the deep-linked span's ancestors are collapsed, keep it reachable
  const hiddenSelected = tree && selectedIdx >= 0 && visibleAncestor(tree, selectedIdx, collapsed) !== selectedIdx;

  const projectLink = `/projects/${encodeURIComponent(projectId)}`;
  const root = tree && tree.roots.length ? tree.spans[tree.roots[0]] : null;
  useTitle(trace ? `${root?.name ?? 'Trace'} · trace` : null);

  if (error) {
    return (
      <div className="page">
        <ErrorBox error={error} onRetry={reload} />
      </div>
    );
  }
  if (loading && !data) {
    return (
      <div className="page">
        <Loading label="Loading trace…" />
      </div>
    );
  }
  if (!trace || !tree) {
    return (
      <div className="page">
        <Empty title="Trace not found">
          No trace <code>{traceId}</code>. <Link to={projectLink}>Back to the project</Link>
        </Empty>
      </div>
    );
  }

  return (
    <div className="trace-page">
      <div className="trace-header">
        <div className="crumbs">
          <Link to="/">Projects</Link>
          <span className="crumb-sep">/</span>
          <Link to={`/projects/${encodeURIComponent(trace.projectId || projectId)}`}>{trace.projectName || projectId}</Link>
          <span className="crumb-sep">/</span>
          <span>Trace</span>
        </div>
        <div className="trace-title-row">
          <h1 className="page-title" title={root?.name}>
            {root?.name ?? 'Trace'}
          </h1>
          {root && <StatusBadge code={root.statusCode} />}
          <span className="mono small muted trace-id" title={trace.traceId}>
            {trace.traceId}
          </span>
          <span className="grow" />
          <div className="stat-strip">
            <div className="stat">
              <div className="stat-label">Start</div>
              <div className="stat-value">{formatTime(trace.startTime)}</div>
            </div>
            <div className="stat">
              <div className="stat-label">Latency</div>
              <div className="stat-value">{formatMs(trace.latencyMs)}</div>
            </div>
            <div className="stat">
              <div className="stat-label">Spans</div>
              <div className="stat-value">{formatNumber(trace.spanCount ?? tree.spans.length)}</div>
            </div>
            <div className="stat">
              <div className="stat-label">Tokens</div>
              <div className="stat-value">{formatNumber(trace.tokenTotal)}</div>
            </div>
            {trace.annotations.length > 0 && (
              <div className="stat" title={trace.annotations.map((a) => `${a.name}: ${a.label ?? a.score ?? ''}`).join('\n')}>
                <div className="stat-label">Annotations</div>
                <div className="stat-value">{trace.annotations.length}</div>
              </div>
            )}
            {trace.sessionId && (
              <div className="stat">
                <div className="stat-label">Session</div>
                <div className="stat-value">
                  <Link to={`/projects/${encodeURIComponent(trace.projectId || projectId)}/sessions`} className="mono" title={trace.sessionId}>
                    {trace.sessionId.length > 14 ? trace.sessionId.slice(0, 12) + '…' : trace.sessionId}
                  </Link>
                </div>
              </div>
            )}
          </div>
        </div>
      </div>
      <div className="trace-body">
        <div className="trace-left">
          <div className="tree-toolbar">
            <button type="button" className="btn btn-small" onClick={expandAll} data-testid="expand-all">
              Expand all
            </button>
            <button type="button" className="btn btn-small" onClick={collapseAll} data-testid="collapse-all">
              Collapse all
            </button>
            <span className="muted small">
              {formatNumber(rows.length)} of {formatNumber(tree.spans.length)} spans shown · ↑/↓ to move
            </span>
            {hiddenSelected && (
              <button
                type="button"
                className="btn btn-ghost btn-small"
                onClick={() => {
                  const next = new Set(collapsed);
                  let p = tree.parent[selectedIdx];
                  while (p >= 0) {
                    next.delete(tree.spans[p].spanId);
                    p = tree.parent[p];
                  }
                  setCollapsed(next);
                  setReveal((r) => ({ tick: r.tick + 1, center: true }));
                }}
              >
                Reveal selected
              </button>
            )}
          </div>
          <TraceTree
            tree={tree}
            rows={rows}
            selected={selectedIdx}
            collapsed={collapsed}
            onSelect={select}
            onToggle={toggle}
            revealTick={reveal.tick}
            revealCenter={reveal.center}
          />
        </div>
        <div className="trace-right">
          <DetailPane spanId={selectedId ?? null} />
        </div>
      </div>
    </div>
  );
}

