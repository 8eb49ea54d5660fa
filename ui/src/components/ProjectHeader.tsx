import { Link } from '../router';
import { Empty } from './misc';
import { formatCompact, formatCost, formatMs, formatNumber } from '../format';

export interface ProjectSummary {
  id: string;
  name: string;
  description?: string | null;
  spanCount?: number;
  traceCount?: number;
  latencyP50Ms?: number | null;
  latencyP99Ms?: number | null;
  tokenTotal?: number;
  costTotal?: number;
}

export const PROJECT_SUMMARY_FIELDS =
  'id name description spanCount traceCount latencyP50Ms latencyP99Ms tokenTotal costTotal';

/** Breadcrumb, name, key stats and the Spans / Sessions tabs of a project. */
export function ProjectHeader({
  projectId,
  project,
  tab,
  right,
}: {
  projectId: string;
  project?: ProjectSummary | null;
  tab: 'spans' | 'sessions';
  right?: React.ReactNode;
}) {
  const base = `/projects/${encodeURIComponent(projectId)}`;
  return (
    <div className="project-header">
      <div className="crumbs">
        <Link to="/">Projects</Link>
        <span className="crumb-sep">/</span>
        <span>{project?.name ?? projectId}</span>
      </div>
      <div className="project-title-row">
        <h1 className="page-title">{project?.name ?? projectId}</h1>
        {project && (
          <div className="stat-strip">
            <Stat label="Spans" value={formatNumber(project.spanCount)} />
            <Stat label="Traces" value={formatNumber(project.traceCount)} />
            <Stat label="p50" value={formatMs(project.latencyP50Ms)} />
            <Stat label="p99" value={formatMs(project.latencyP99Ms)} />
            <Stat label="Tokens" value={formatCompact(project.tokenTotal)} />
            <Stat label="Cost" value={formatCost(project.costTotal)} />
          </div>
        )}
      </div>
      <div className="tabs-row">
        <div className="tabs" role="tablist">
          <Link to={base} className={'tab' + (tab === 'spans' ? ' active' : '')} role="tab" aria-selected={tab === 'spans'} data-testid="tab-spans">
            Spans
          </Link>
          <Link
            to={`${base}/sessions`}
            className={'tab' + (tab === 'sessions' ? ' active' : '')}
            role="tab"
            aria-selected={tab === 'sessions'}
            data-testid="tab-sessions"
          >
            Sessions
          </Link>
        </div>
        {right && <div className="tabs-right">{right}</div>}
      </div>
    </div>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
    </div>
  );
}

/** The page shown for a project id or name that names no project. */
export function ProjectNotFound() {
  return (
    <div className="page">
      <Empty title="Project not found">
        <Link to="/">Back to projects</Link>
      </Empty>
    </div>
  );
}
