// /experiments/:experimentId: runs with their evaluations, aggregates, and evaluator plugins
// attached from the page (jobs followed until they finish). The sections live in ./experiment/.
import { useRef } from 'react';
import { gql } from '../api';
import { Link } from '../router';
import { useAsync } from '../components/useAsync';
import { Loading } from '../components/Loading';
import { ErrorBox } from '../components/ErrorBox';
import { formatNumber, formatTime } from '../format';
import { DATASET, EXPERIMENT, type DatasetLite, type ExperimentDetail } from './experiment/types';
import { useEvaluatorJobs } from './experiment/useEvaluatorJobs';
import { Aggregates } from './experiment/Aggregates';
import { RunEvaluator } from './experiment/RunEvaluator';
import { Jobs } from './experiment/Jobs';
import { Runs } from './experiment/Runs';
import './pages.css';

/** The experiment and its dataset (null when there is no such experiment). */
interface Loaded {
  experiment: ExperimentDetail | null;
  dataset: DatasetLite | null;
}

export default function ExperimentPage({ params }: { params: Record<string, string> }) {
  const experimentId = params.experimentId ?? '';
  const datasetCache = useRef<{ key: string; dataset: DatasetLite | null } | null>(null);

  const result = useAsync<Loaded>(async (signal) => {
    const { experiment } = await gql<{ experiment: ExperimentDetail | null }>(EXPERIMENT, { id: experimentId }, { signal });
    if (!experiment) return { experiment: null, dataset: null };
    const key = `${experiment.datasetId}/${experiment.datasetVersionId}`;
    if (datasetCache.current?.key !== key) {
      const { dataset } = await gql<{ dataset: DatasetLite | null }>(
        DATASET,
        { id: experiment.datasetId, versionId: experiment.datasetVersionId },
        { signal },
      );
      datasetCache.current = { key, dataset };
    }
    return { experiment, dataset: datasetCache.current.dataset };
  }, [experimentId]);

  const experiment = result.data?.experiment ?? null;
  const jobs = useEvaluatorJobs(experimentId, experiment ? experiment.evaluators : undefined, result.reload);

  if (result.error !== undefined && !result.data) return <ErrorBox error={result.error} />;
  if (!result.data) return <Loading />;
  if (!experiment) return <div className="page pg-page pg-empty">No experiment {experimentId}.</div>;
  const dataset = result.data.dataset;

  return (
    <div className="page pg-page">
      <div className="pg-crumbs">
        <Link to="/datasets">Datasets</Link> /{' '}
        <Link to={`/datasets/${encodeURIComponent(experiment.datasetId)}`}>{dataset?.name ?? experiment.datasetId}</Link>{' '}
        / <span>{experiment.name || experiment.id}</span>
      </div>
      <div className="pg-header">
        <h1 data-testid="experiment-name">{experiment.name || experiment.id}</h1>
        <span className="pg-muted">
          dataset{' '}
          <Link to={`/datasets/${encodeURIComponent(experiment.datasetId)}`}>{dataset?.name ?? experiment.datasetId}</Link>{' '}
          · <span data-testid="experiment-run-count">{formatNumber(experiment.runCount)}</span> runs · created{' '}
          {formatTime(experiment.createdAt)}
          {experiment.projectName && (
            <>
              {' '}
              · traces in{' '}
              <Link to={`/projects/${encodeURIComponent(experiment.projectName)}`} className="pg-mono">
                {experiment.projectName}
              </Link>
            </>
          )}
        </span>
      </div>
      {result.error !== undefined && <ErrorBox error={result.error} />}

      <div className="pg-two">
        <Aggregates value={experiment.aggregates} />
        <RunEvaluator experimentId={experimentId} onAttached={jobs.refresh} />
      </div>
      <Jobs evals={jobs.evals} active={jobs.active} error={jobs.pollError} />
      <Runs experiment={experiment} dataset={dataset} evaluators={jobs.evals?.evaluators ?? []} />
    </div>
  );
}
