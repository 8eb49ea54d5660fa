import { useCallback, useEffect, useRef, useState } from 'react';
import { gql, isAbort } from '../api';
import { Link } from '../router';
import { useAsync } from '../components/useAsync';
import { Loading } from '../components/Loading';
import { ErrorBox } from '../components/ErrorBox';
import { Empty, useTitle } from '../components/misc';
import { ProjectHeader, ProjectNotFound, PROJECT_SUMMARY_FIELDS, type ProjectSummary } from '../components/ProjectHeader';
import { formatMs, formatNumber, formatRelative, formatTime } from '../format';

interface SessionRow {
  id: string;
  sessionId: string;
  startTime: string;
  endTime: string;
  tokenTotal: number;
  traceCount: number;
}

interface Turn {
  traceId: string;
  startTime: string;
  latencyMs: number;
  rootSpanName: string | null;
  input: string | null;
  output: string | null;
}

interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

const PAGE_SIZE = 30;

const HEADER_QUERY = `query SessionsHeader($id: ID!) { project(id: $id) { ${PROJECT_SUMMARY_FIELDS} } }`;
const LIST_QUERY = `query Sessions($id: ID!, $first: Int, $after: String) {
  project(id: $id) {
    id
    sessions(first: $first, after: $after) {
      nodes { id sessionId startTime endTime tokenTotal traceCount }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;
const TURNS_QUERY = `query SessionTurns($sid: String!) {
  session(sessionId: $sid) { id sessionId turns { traceId startTime latencyMs rootSpanName input output } }
}`;

function durationMs(a: string, b: string): number | null {
  const x = new Date(a).getTime();
  const y = new Date(b).getTime();
  if (Number.isNaN(x) || Number.isNaN(y)) return null;
  return Math.max(0, y - x);
}

/** Show a string as text; when it is JSON with an obvious message field, show that. */
function turnText(s: string | null): string {
  if (!s) return '';
  const t = s.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      const j = JSON.parse(t);
      if (typeof j === 'string') return j;
      if (j && typeof j === 'object' && !Array.isArray(j)) {
        for (const k of ['input', 'question', 'query', 'message', 'content', 'output', 'answer', 'text', 'response']) {
          const v = (j as Record<string, unknown>)[k];
          if (typeof v === 'string') return v;
        }
      }
      return JSON.stringify(j, null, 2);
    } catch {
      return s;
    }
  }
  return s;
}

function Turns({ projectId, sessionId }: { projectId: string; sessionId: string }) {
  const { data, error, loading, reload } = useAsync(
    (signal) => gql<{ session: { turns: Turn[] } | null }>(TURNS_QUERY, { sid: sessionId }, { signal }),
    [sessionId],
  );
  if (loading && !data) return <Loading inline />;
  if (error) return <ErrorBox error={error} onRetry={reload} />;
  const turns = data?.session?.turns ?? [];
  if (turns.length === 0) return <div className="muted small">No turns.</div>;
  return (
    <ol className="thread">
      {turns.map((t, i) => {
        const to = `/projects/${encodeURIComponent(projectId)}/traces/${encodeURIComponent(t.traceId)}`;
        return (
          <li key={t.traceId + ':' + i} className="turn" data-testid="session-turn">
            <div className="turn-meta">
              <span className="turn-index">#{i + 1}</span>
              <span className="mono small">{formatTime(t.startTime)}</span>
              {t.rootSpanName && <span className="small muted">{t.rootSpanName}</span>}
              <span className="small muted">{formatMs(t.latencyMs)}</span>
              <Link to={to} className="turn-link small">
                View trace →
              </Link>
            </div>
            <div className="bubble bubble-user">
              <div className="bubble-role">user</div>
              <div className="bubble-text">{turnText(t.input) || <span className="muted">(no input)</span>}</div>
            </div>
            <div className="bubble bubble-assistant">
              <div className="bubble-role">assistant</div>
              <div className="bubble-text">{turnText(t.output) || <span className="muted">(no output)</span>}</div>
            </div>
          </li>
        );
      })}
    </ol>
  );
}

export default function SessionsPage({ params }: { params: Record<string, string> }) {
  const projectId = params.projectId;
  const header = useAsync(
    (signal) => gql<{ project: ProjectSummary | null }>(HEADER_QUERY, { id: projectId }, { signal }),
    [projectId],
  );
  const [rows, setRows] = useState<SessionRow[]>([]);
  const [pageInfo, setPageInfo] = useState<PageInfo | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [open, setOpen] = useState<Set<string>>(() => new Set());
  const busy = useRef(false);
  const infoRef = useRef(pageInfo);
  infoRef.current = pageInfo;

  const load = useCallback(
    (after: string | null, signal?: AbortSignal) => {
      if (busy.current) return;
      busy.current = true;
      setLoading(true);
      gql<{ project: { sessions: { nodes: SessionRow[]; pageInfo: PageInfo } } | null }>(
        LIST_QUERY,
        { id: projectId, first: PAGE_SIZE, after },
        { signal },
      )
        .then((d) => {
          const page = d.project?.sessions;
          if (!page) return;
          setRows((prev) => {
            const base = after ? prev : [];
            const seen = new Set(base.map((r) => r.id));
            return base.concat(page.nodes.filter((n) => !seen.has(n.id)));
          });
          setPageInfo(page.pageInfo);
        })
        .catch((e) => {
          if (!isAbort(e)) setError(e);
        })
        .finally(() => {
          busy.current = false;
          setLoading(false);
        });
    },
    [projectId],
  );

  useEffect(() => {
    const ctrl = new AbortController();
    busy.current = false;
    load(null, ctrl.signal);
    return () => ctrl.abort();
  }, [load]);

  const sentinel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = sentinel.current;
    if (!el || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver(
      (es) => {
        const pi = infoRef.current;
        if (es.some((e) => e.isIntersecting) && pi?.hasNextPage && pi.endCursor) load(pi.endCursor);
      },
      { rootMargin: '0px 0px 400px 0px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [load]);

  // after a page lands the sentinel may still be in range (the observer fires only on changes)
  useEffect(() => {
    const el = sentinel.current;
    if (loading || !el || !pageInfo?.hasNextPage || !pageInfo.endCursor) return;
    if (el.getBoundingClientRect().top < window.innerHeight + 400) load(pageInfo.endCursor);
  }, [loading, pageInfo, load]);

  const toggle = (sid: string) =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (next.has(sid)) next.delete(sid);
      else next.add(sid);
      return next;
    });

  const project = header.data?.project;
  useTitle(project ? `${project.name} · sessions` : null);
  if (header.data && !project) {
    return <ProjectNotFound />;
  }

  return (
    <div className="page page-wide">
      <ProjectHeader projectId={projectId} project={project} tab="sessions" />
      <ErrorBox error={header.error ?? error} />
      <div className="session-list">
        {rows.map((s) => {
          const isOpen = open.has(s.sessionId);
          return (
            <div key={s.id} className={'session' + (isOpen ? ' open' : '')}>
              <button
                type="button"
                className="session-row"
                data-testid="session-row"
                aria-expanded={isOpen}
                onClick={() => toggle(s.sessionId)}
              >
                <span className="caret">{isOpen ? '▾' : '▸'}</span>
                <span className="mono session-id" title={s.sessionId}>
                  {s.sessionId}
                </span>
                <span className="session-stat">
                  <span className="muted">turns</span> {formatNumber(s.traceCount)}
                </span>
                <span className="session-stat">
                  <span className="muted">tokens</span> {formatNumber(s.tokenTotal)}
                </span>
                <span className="session-stat">
                  <span className="muted">duration</span> {formatMs(durationMs(s.startTime, s.endTime))}
                </span>
                <span className="session-stat muted" title={formatTime(s.startTime)}>
                  started {formatRelative(s.startTime)}
                </span>
              </button>
              {isOpen && (
                <div className="session-body">
                  <Turns projectId={projectId} sessionId={s.sessionId} />
                </div>
              )}
            </div>
          );
        })}
      </div>
      {loading && <Loading />}
      {!loading && rows.length === 0 && !error && (
        <Empty title="No sessions">
          Spans carrying a <code>session.id</code> attribute are grouped into sessions here.
        </Empty>
      )}
      <div ref={sentinel} className="sentinel" aria-hidden="true" />
    </div>
  );
}
