import { gql, url } from '../api';
import { Link, navigate } from '../router';
import { useAsync } from '../components/useAsync';
import { Loading } from '../components/Loading';
import { ErrorBox } from '../components/ErrorBox';
import { Empty, PageHeader, useTitle } from '../components/misc';
import { formatCompact, formatCost, formatMs, formatNumber, formatRelative, formatTime } from '../format';

interface ProjectRow {
  id: string;
  name: string;
  description: string | null;
  spanCount: number;
  traceCount: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  tokenPrompt: number;
  tokenCompletion: number;
  tokenTotal: number;
  costTotal: number;
  lastSpanTime: string | null;
}

const QUERY = `query Projects {
  projects {
    id name description spanCount traceCount latencyP50Ms latencyP99Ms
    tokenPrompt tokenCompletion tokenTotal costTotal lastSpanTime
  }
}`;

export default function ProjectsPage(_props: { params: Record<string, string> }) {
  const { data, error, loading, reload } = useAsync(
    (signal) => gql<{ projects: ProjectRow[] }>(QUERY, {}, { signal }),
    [],
  );
  const projects = data?.projects ?? [];
  useTitle('Projects');
  return (
    <div className="page">
      <PageHeader
        title="Projects"
        sub={data ? `${projects.length} project${projects.length === 1 ? '' : 's'}` : undefined}
        actions={
          <button type="button" className="btn" onClick={reload}>
            Refresh
          </button>
        }
      />
      <ErrorBox error={error} onRetry={reload} />
      {loading && !data && <Loading />}
      {data && projects.length === 0 && (
        <Empty title="No projects yet">
          Send OpenTelemetry / OpenInference spans to <code>{location.origin + url('/v1/traces')}</code> (OTLP
          over HTTP) or to the gRPC port; a project appears with its first span.
        </Empty>
      )}
      {projects.length > 0 && (
        <div className="table-wrap">
          <table className="table" data-testid="projects-table">
            <thead>
              <tr>
                <th>Name</th>
                <th className="num">Spans</th>
                <th className="num">Traces</th>
                <th className="num">Latency p50</th>
                <th className="num">Latency p99</th>
                <th className="num">Tokens</th>
                <th className="num">Cost</th>
                <th>Last span</th>
              </tr>
            </thead>
            <tbody>
              {projects.map((p) => {
                const to = `/projects/${encodeURIComponent(p.id)}`;
                return (
                  <tr
                    key={p.id}
                    data-testid="project-row"
                    className="clickable"
                    onClick={(e) => {
                      if ((e.target as HTMLElement).closest('a')) return;
                      navigate(to);
                    }}
                  >
                    <td>
                      <Link to={to} className="strong-link">
                        {p.name}
                      </Link>
                      {p.description && <div className="muted small">{p.description}</div>}
                    </td>
                    <td className="num" data-testid="project-span-count">
                      {formatNumber(p.spanCount)}
                    </td>
                    <td className="num">{formatNumber(p.traceCount)}</td>
                    <td className="num">{formatMs(p.latencyP50Ms)}</td>
                    <td className="num">{formatMs(p.latencyP99Ms)}</td>
                    <td
                      className="num"
                      title={`prompt ${formatNumber(p.tokenPrompt)} · completion ${formatNumber(p.tokenCompletion)}`}
                    >
                      {formatCompact(p.tokenTotal)}
                    </td>
                    <td className="num">{formatCost(p.costTotal)}</td>
                    <td title={formatTime(p.lastSpanTime)} className="muted">
                      {formatRelative(p.lastSpanTime)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
