// /experiments/:experimentId: runs with their evaluations, aggregates, and evaluator plugins
// attached from the page (jobs followed until they finish).
import { useEffect, useMemo, useRef, useState } from 'react';
import { ErrorBox, Link, Loading, gql, rest } from './lib/shared';
import {
  type AttachedEvaluator,
  type EvaluatorsBody,
  aggregatesOf,
  evaluatorsBody,
  labelSummary,
} from './lib/evaluation';
import { compactJson, errorMessage, formatInt, formatScore, parseJsonObject, prettyJson, shortTime, useAsync } from './lib/util';
import './pages.css';

interface Evaluation {
  name: string;
  label: string | null;
  score: number | null;
  explanation: string | null;
  error: string | null;
  errorKind: string | null;
  plugin: string | null;
}

interface Run {
  id: string;
  exampleId: string;
  repetitionNumber: number;
  output: unknown;
  error: string | null;
  startTime: string;
  endTime: string;
  evaluations: Evaluation[];
}

interface ExperimentDetail {
  id: string;
  name: string | null;
  datasetId: string;
  datasetVersionId: string;
  createdAt: string;
  runCount: number;
  projectName: string | null;
  evaluators: unknown;
  aggregates: unknown;
  runs: Run[];
}

interface ExampleLite {
  id: string;
  input: unknown;
  output: unknown;
}

interface DatasetLite {
  id: string;
  name: string;
  examples: ExampleLite[];
}

const EXPERIMENT = `query Experiment($id: ID!) {
  experiment(id: $id) {
    id name datasetId datasetVersionId createdAt runCount projectName evaluators aggregates
    runs {
      id exampleId repetitionNumber output error startTime endTime
      evaluations { name label score explanation error errorKind plugin }
    }
  }
}`;

const DATASET = `query ExperimentDataset($id: ID!, $versionId: ID) {
  dataset(id: $id) { id name examples(versionId: $versionId) { id input output } }
}`;

const PLUGINS = `query EvaluatorPlugins { plugins { name world version enabled } }`;

interface Loaded {
  experiment: ExperimentDetail | null;
  dataset: DatasetLite | null;
}

export default function ExperimentPage({ params }: { params: Record<string, string> }) {
  const experimentId = params.experimentId ?? '';
  const datasetCache = useRef<{ key: string; dataset: DatasetLite | null } | null>(null);

  const result = useAsync<Loaded>(async () => {
    const { experiment } = await gql<{ experiment: ExperimentDetail | null }>(EXPERIMENT, { id: experimentId });
    if (!experiment) return { experiment: null, dataset: null };
    const key = `${experiment.datasetId}/${experiment.datasetVersionId}`;
    if (datasetCache.current?.key !== key) {
      const { dataset } = await gql<{ dataset: DatasetLite | null }>(DATASET, {
        id: experiment.datasetId,
        versionId: experiment.datasetVersionId,
      });
      datasetCache.current = { key, dataset };
    }
    return { experiment, dataset: datasetCache.current.dataset };
  }, [experimentId]);

  const [evals, setEvals] = useState<EvaluatorsBody | null>(null);
  const [pollError, setPollError] = useState<unknown>(undefined);
  const experiment = result.data?.experiment ?? null;

  // The first evaluators state comes with the experiment; later ones from polling.
  useEffect(() => {
    if (experiment && evals === null) setEvals(evaluatorsBody(experiment.evaluators));
  }, [experiment, evals]);

  const active = !!evals && evals.jobs.pending + evals.jobs.running > 0;
  const reload = result.reload;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    const timer = setTimeout(async () => {
      try {
        const body = await rest<unknown>('GET', `/v1/experiments/${encodeURIComponent(experimentId)}/evaluators`);
        if (stopped) return;
        await reload();
        if (stopped) return;
        setPollError(undefined);
        setEvals(evaluatorsBody(body));
      } catch (err) {
        if (!stopped) setPollError(err);
      }
    }, 1000);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [active, evals, experimentId, reload]);

  const afterAttach = async () => {
    try {
      const body = await rest<unknown>('GET', `/v1/experiments/${encodeURIComponent(experimentId)}/evaluators`);
      setEvals(evaluatorsBody(body));
      await reload();
    } catch (err) {
      setPollError(err);
    }
  };

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
          · <span data-testid="experiment-run-count">{formatInt(experiment.runCount)}</span> runs · created{' '}
          {shortTime(experiment.createdAt)}
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
        <RunEvaluator experimentId={experimentId} onAttached={afterAttach} />
      </div>
      <Jobs evals={evals} active={active} error={pollError} />
      <Runs experiment={experiment} dataset={dataset} evaluators={evals?.evaluators ?? []} />
    </div>
  );
}

function Aggregates({ value }: { value: unknown }) {
  const aggregates = aggregatesOf(value);
  return (
    <section className="pg-section pg-grow">
      <h2>Evaluations</h2>
      <table className="table pg-table">
        <thead>
          <tr>
            <th>Name</th>
            <th className="pg-num">Count</th>
            <th className="pg-num">Scored</th>
            <th className="pg-num">Errors</th>
            <th className="pg-num">Mean</th>
            <th className="pg-num">Min</th>
            <th className="pg-num">Max</th>
            <th>Labels</th>
          </tr>
        </thead>
        <tbody>
          {aggregates.map((a) => (
            <tr key={a.name} data-testid="aggregate-row" data-name={a.name}>
              <td>{a.name}</td>
              <td className="pg-num">{formatInt(a.count)}</td>
              <td className="pg-num">{formatInt(a.scored)}</td>
              <td className={`pg-num${a.errors > 0 ? ' pg-error-text' : ''}`}>{formatInt(a.errors)}</td>
              <td className="pg-num" data-testid="aggregate-mean">
                {formatScore(a.mean)}
              </td>
              <td className="pg-num">{formatScore(a.min)}</td>
              <td className="pg-num">{formatScore(a.max)}</td>
              <td className="pg-small">{labelSummary(a.labels)}</td>
            </tr>
          ))}
          {aggregates.length === 0 && (
            <tr>
              <td colSpan={8} className="pg-empty">
                No evaluations yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

function RunEvaluator({ experimentId, onAttached }: { experimentId: string; onAttached: () => Promise<void> }) {
  const plugins = useAsync(
    () => gql<{ plugins: { name: string; world: string; version: string; enabled: boolean }[] }>(PLUGINS),
    [],
  );
  const names = useMemo(() => {
    const out: string[] = [];
    for (const p of plugins.data?.plugins ?? []) {
      if (p.enabled && p.world === 'evaluator' && !out.includes(p.name)) out.push(p.name);
    }
    return out.sort();
  }, [plugins.data]);
  const [plugin, setPlugin] = useState('');
  const [config, setConfig] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [attached, setAttached] = useState<string | null>(null);
  const chosen = plugin && names.includes(plugin) ? plugin : (names[0] ?? '');
  const schema = useAsync(async () => {
    if (!chosen) return null;
    const reply = await rest<{ data: { config_schema: unknown } }>('GET', `/v1/plugins/${encodeURIComponent(chosen)}`);
    return configKeys(reply.data.config_schema);
  }, [chosen]);

  const attach = async () => {
    setError(undefined);
    setAttached(null);
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = parseJsonObject(config, 'The configuration');
    } catch (err) {
      setError(err);
      return;
    }
    setBusy(true);
    try {
      const spec: Record<string, unknown> = { plugin: chosen };
      if (parsed) spec.config = parsed;
      if (name.trim()) spec.name = name.trim();
      const reply = await rest<{ data: AttachedEvaluator[] }>(
        'POST',
        `/v1/experiments/${encodeURIComponent(experimentId)}/evaluators`,
        { evaluators: [spec] },
      );
      setAttached((reply.data ?? []).map((e) => e.name).join(', ') || chosen);
      setName('');
      await onAttached();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="pg-section pg-panel pg-evaluator-panel">
      <h2>Run evaluator</h2>
      {plugins.error !== undefined && <ErrorBox error={plugins.error} />}
      <label className="pg-field">
        Evaluator plugin
        <select data-testid="evaluator-plugin" value={chosen} onChange={(e) => setPlugin(e.target.value)}>
          {names.length === 0 && <option value="">{plugins.loading ? 'loading…' : 'no enabled evaluator plugins'}</option>}
          {names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label className="pg-field">
        <span>
          Evaluation name <span className="pg-muted">(optional, default: the plugin name)</span>
        </span>
        <input type="text" value={name} placeholder={chosen} onChange={(e) => setName(e.target.value)} />
      </label>
      <label className="pg-field">
        <span>
          Configuration <span className="pg-muted">(optional JSON object)</span>
        </span>
        <textarea
          data-testid="evaluator-config"
          className="pg-mono"
          rows={3}
          value={config}
          placeholder='{"key": "value"}'
          onChange={(e) => setConfig(e.target.value)}
        />
        {schema.data && schema.data.length > 0 && (
          <span className="pg-small pg-muted" data-testid="evaluator-config-keys">
            keys:{' '}
            {schema.data.map((k, i) => (
              <span key={k.name} title={k.description}>
                {i > 0 ? ', ' : ''}
                <code>{k.name}</code>
                {k.type ? ` (${k.type}${k.default !== undefined ? ` = ${k.default}` : ''})` : ''}
              </span>
            ))}
          </span>
        )}
      </label>
      <div className="pg-form-row">
        <button
          type="button"
          className="btn btn-primary"
          data-testid="evaluator-attach"
          disabled={busy || !chosen}
          onClick={() => void attach()}
        >
          {busy ? 'Attaching…' : 'Attach and run'}
        </button>
        {attached && <span className="pg-ok-text">Attached {attached}.</span>}
      </div>
      {error !== undefined && <div className="pg-error-text" data-testid="evaluator-error">{errorMessage(error)}</div>}
    </section>
  );
}

interface ConfigKey {
  name: string;
  type: string;
  default?: string;
  description: string;
}

/** The top-level properties of a plugin's config JSON schema (given as an object or as text). */
function configKeys(schema: unknown): ConfigKey[] {
  let value = schema;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return [];
    }
  }
  const properties = (value as { properties?: Record<string, Record<string, unknown>> } | null)?.properties;
  if (!properties || typeof properties !== 'object') return [];
  return Object.entries(properties).map(([name, p]) => ({
    name,
    type: Array.isArray(p?.type) ? p.type.join('|') : typeof p?.type === 'string' ? p.type : '',
    default: p && 'default' in p ? JSON.stringify(p.default) : undefined,
    description: typeof p?.description === 'string' ? p.description : '',
  }));
}

function Jobs({ evals, active, error }: { evals: EvaluatorsBody | null; active: boolean; error: unknown }) {
  if (!evals || evals.evaluators.length === 0) return null;
  return (
    <section className="pg-section" data-testid="evaluator-jobs">
      <div className="pg-section-head">
        <h2>Evaluator jobs</h2>
        {active ? <span className="pg-badge pg-running">running</span> : <span className="pg-badge">idle</span>}
      </div>
      {error !== undefined && <div className="pg-error-text">Polling failed: {errorMessage(error)}</div>}
      <table className="table pg-table">
        <thead>
          <tr>
            <th>Evaluator</th>
            <th>Plugin</th>
            <th>Config</th>
            <th className="pg-num">Queued</th>
            <th className="pg-num">Active</th>
            <th className="pg-num">Done</th>
            <th className="pg-num">Failed</th>
            <th style={{ width: '12rem' }}>Progress</th>
          </tr>
        </thead>
        <tbody>
          {evals.evaluators.map((e) => {
            const jobs = e.jobs ?? { pending: 0, running: 0, done: 0, failed: 0, total: 0 };
            const finished = jobs.done + jobs.failed;
            const pct = jobs.total > 0 ? (100 * finished) / jobs.total : 100;
            return (
              <tr key={e.id} data-testid="evaluator-job" data-name={e.name}>
                <td>{e.name}</td>
                <td className="pg-mono">{e.plugin ? `${e.plugin.name}@${e.plugin.version}` : '–'}</td>
                <td className="pg-json" title={prettyJson(e.config)}>
                  {compactJson(e.config, 80)}
                </td>
                <td className="pg-num">{jobs.pending}</td>
                <td className="pg-num">{jobs.running}</td>
                <td className="pg-num">{jobs.done}</td>
                <td className={`pg-num${jobs.failed > 0 ? ' pg-error-text' : ''}`}>{jobs.failed}</td>
                <td>
                  <div className="pg-progress" title={`${finished} of ${jobs.total}`}>
                    <div
                      className={`pg-progress-done${jobs.failed > 0 ? ' pg-progress-failed' : ''}`}
                      style={{ width: `${pct}%` }}
                    />
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function EvaluationCell({ evaluation }: { evaluation: Evaluation | undefined }) {
  if (!evaluation) return <td className="pg-muted">·</td>;
  if (evaluation.error || evaluation.errorKind) {
    return (
      <td title={evaluation.error ?? ''}>
        <span
          data-testid="evaluation-score"
          data-name={evaluation.name}
          data-error-kind={evaluation.errorKind ?? 'error'}
          className="pg-error-text pg-mono"
        >
          {evaluation.errorKind ?? 'error'}
        </span>
      </td>
    );
  }
  const tooltip = [evaluation.explanation, evaluation.plugin ? `plugin ${evaluation.plugin}` : null]
    .filter(Boolean)
    .join('\n');
  return (
    <td title={tooltip}>
      <span data-testid="evaluation-score" data-name={evaluation.name} className="pg-score">
        {formatScore(evaluation.score)}
      </span>
      {evaluation.label !== null && evaluation.label !== '' && (
        <span className="pg-label" data-testid="evaluation-label">
          {evaluation.label}
        </span>
      )}
    </td>
  );
}

function Runs({
  experiment,
  dataset,
  evaluators,
}: {
  experiment: ExperimentDetail;
  dataset: DatasetLite | null;
  evaluators: AttachedEvaluator[];
}) {
  const examples = useMemo(() => {
    const map = new Map<string, { index: number; example: ExampleLite }>();
    (dataset?.examples ?? []).forEach((example, index) => map.set(example.id, { index, example }));
    return map;
  }, [dataset]);
  const names = useMemo(() => {
    const out = evaluators.map((e) => e.name);
    const others = new Set<string>();
    for (const run of experiment.runs) for (const e of run.evaluations) if (!out.includes(e.name)) others.add(e.name);
    return [...out, ...[...others].sort()];
  }, [experiment.runs, evaluators]);
  const runs = useMemo(
    () =>
      [...experiment.runs].sort(
        (a, b) =>
          (examples.get(a.exampleId)?.index ?? 1e9) - (examples.get(b.exampleId)?.index ?? 1e9) ||
          a.repetitionNumber - b.repetitionNumber,
      ),
    [experiment.runs, examples],
  );
  const repeated = runs.some((r) => r.repetitionNumber > 1);

  return (
    <section className="pg-section">
      <h2>Runs</h2>
      <table className="table pg-table pg-fixed" data-testid="runs-table">
        <thead>
          <tr>
            <th>Input</th>
            <th>Reference</th>
            <th>Output</th>
            <th style={{ width: '12rem' }}>Error</th>
            {names.map((n) => (
              <th key={n} style={{ width: '8rem' }}>
                {n}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => {
            const example = examples.get(run.exampleId)?.example;
            const byName = new Map(run.evaluations.map((e) => [e.name, e]));
            return (
              <tr key={run.id} data-testid="run-row" data-id={run.id}>
                <td className="pg-json" title={example ? prettyJson(example.input) : run.exampleId}>
                  {repeated && <span className="pg-badge">#{run.repetitionNumber}</span>}
                  {example ? compactJson(example.input) : <span className="pg-mono pg-muted">{run.exampleId}</span>}
                </td>
                <td className="pg-json" title={example ? prettyJson(example.output) : ''}>
                  {example ? compactJson(example.output) : ''}
                </td>
                <td className="pg-json" title={prettyJson(run.output)} data-testid="run-output">
                  {typeof run.output === 'string' ? run.output : compactJson(run.output)}
                </td>
                <td className="pg-error-text pg-small" title={run.error ?? ''}>
                  {run.error ?? ''}
                </td>
                {names.map((n) => (
                  <EvaluationCell key={n} evaluation={byName.get(n)} />
                ))}
              </tr>
            );
          })}
          {runs.length === 0 && (
            <tr>
              <td colSpan={4 + names.length} className="pg-empty">
                No runs recorded yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
