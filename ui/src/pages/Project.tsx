// /projects/:projectId: the project's spans, filtered by the URL's query string, paged by
// scrolling, and updated live while the newest spans are in view.
import { useCallback, useMemo } from 'react';
import { gql } from '../api';
import { setSearch, useLocation } from '../router';
import { useAsync } from '../components/useAsync';
import { ErrorBox } from '../components/ErrorBox';
import { useTitle } from '../components/misc';
import { ProjectHeader, ProjectNotFound } from '../components/ProjectHeader';
import { readApplied, writeApplied, type Applied } from './project/filters';
import { HEADER_QUERY, type ProjectWithPickers } from './project/query';
import { FiltersBar } from './project/FiltersBar';
import { SpansTable } from './project/SpansTable';
import { useSpansList } from './project/useSpansList';
import { useLiveSpans, type LiveState } from './project/useLiveSpans';
import { useSpanSelection } from './project/useSpanSelection';
import { DatasetFromSpans } from './project/DatasetFromSpans';

export default function ProjectPage({ params }: { params: Record<string, string> }) {
  const projectId = params.projectId;
  const { search } = useLocation();
  const applied = useMemo(() => readApplied(search), [search]);
  const filterKey = useMemo(() => writeApplied(applied).toString(), [applied]);

  const header = useAsync(
    (signal) => gql<{ project: ProjectWithPickers | null }>(HEADER_QUERY, { id: projectId }, { signal }),
    [projectId],
  );
  const project = header.data?.project;
  useTitle(project ? `${project.name} · spans` : null);

  const update = useCallback(
    (patch: Partial<Applied>) => setSearch(writeApplied({ ...readApplied(window.location.search), ...patch })),
    [],
  );

  const list = useSpansList(projectId, applied, filterKey);
  // Selected spans survive paging and live updates; other filters (or project) start afresh.
  const selection = useSpanSelection(`${projectId}?${filterKey}`);
  const live = useLiveSpans({
    project: project?.name,
    applied,
    loading: list.loading,
    error: list.error,
    notFound: list.notFound,
    refreshNewest: list.refreshNewest,
  });

  if (list.notFound || (header.data && !project)) {
    return <ProjectNotFound />;
  }

  return (
    <div className="page page-wide">
      <ProjectHeader projectId={projectId} project={project} tab="spans" right={<LiveIndicator live={live} />} />
      <ErrorBox error={header.error} />
      <FiltersBar
        applied={applied}
        filterKey={filterKey}
        spanNames={project?.spanNames ?? []}
        models={project?.models ?? []}
        update={update}
        onClear={() => setSearch(new URLSearchParams())}
      />
      <ErrorBox error={list.error} />
      <DatasetFromSpans selection={selection} project={project?.id} />
      <SpansTable
        projectId={projectId}
        rows={list.rows}
        pageInfo={list.pageInfo}
        loading={list.loading}
        loadingMore={list.loadingMore}
        error={list.error}
        filtered={!!filterKey}
        newIds={live.newIds}
        sentinelRef={list.sentinelRef}
        selection={selection}
      />
    </div>
  );
}

/** The Live / Paused button: shows whether new spans appear by themselves, and toggles it. */
function LiveIndicator({ live: { live, pausedReason, togglePaused, transport } }: { live: LiveState }) {
  return (
    <button
      type="button"
      data-testid="live-indicator"
      data-transport={live && transport ? transport : undefined}
      className={'live-indicator' + (live ? ' is-live' : '')}
      title={
        live
          ? transport === 'poll'
            ? 'Polling for new spans every 3 s (no WebSocket) — click to pause'
            : 'New spans appear as they are stored — click to pause'
          : `Paused (${pausedReason}) — click to resume`
      }
      onClick={togglePaused}
    >
      <span className="live-dot" aria-hidden="true" />
      {live ? 'Live' : 'Paused'}
    </button>
  );
}
