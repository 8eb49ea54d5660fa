// /compare?experiment=A&experiment=B…: experiments of one dataset side by side, with a
// word-level diff of each output against the first experiment's.
import { useMemo, useState } from 'react';
import { gql, rest } from '../api';
import { Link, useSearch } from '../router';
import { useAsync } from '../components/useAsync';
import { Loading } from '../components/Loading';
import { ErrorBox } from '../components/ErrorBox';
import { compactJson, formatNumber, formatScore, prettyJson, valueText } from '../format';
import { type Aggregate, aggregateOf, labelSummary } from './lib/evaluation';
import { wordDiff } from './lib/diff';
import './pages.css';

interface CompareEvaluation {
  score: number | null;
  label: string | null;
  explanation: string | null;
  error: string | null;
  error_kind: string | null;
}

interface CompareRun {
  id: string;
  repetition_number: number;
  output: unknown;
  error: string | null;
  latency_ms: number;
  evaluations: Record<string, CompareEvaluation>;
}

interface CompareExample {
  id: string;
  input: unknown;
  expected: unknown;
  metadata: unknown;
  runs: Record<string, CompareRun[]>;
}

interface CompareReply {
  data: {
    dataset_id: string;
    dataset_version_id: string;
    experiments: { id: string; name: string; dataset_version_id: string }[];
    examples: CompareExample[];
    aggregates: Record<string, unknown>[];
  };
  next_cursor: string | null;
}

const PAGE_SIZE = 50;

const DATASET_NAME = `query CompareDataset($id: ID!) { dataset(id: $id) { name } }`;

export default function ComparePage(_props: { params: Record<string, string> }) {
  const search = useSearch();
  const ids = useMemo(() => {
    const out: string[] = [];
    for (const raw of [...search.getAll('experiment'), ...search.getAll('experiment_id')]) {
      for (const id of raw.split(',')) if (id && !out.includes(id)) out.push(id);
    }
    return out;
  }, [search]);
  const key = ids.join(',');
  // Cursors of the pages before the current one, and the current one ('' is the first page).
  const [cursors, setCursors] = useState<string[]>(['']);
  const [cursorKey, setCursorKey] = useState(key);
  if (cursorKey !== key) {
    setCursorKey(key);
    setCursors(['']);
  }
  const cursor = cursors[cursors.length - 1];

  const result = useAsync(async (signal) => {
    if (ids.length === 0) return null;
    const query = new URLSearchParams();
    for (const id of ids) query.append('experiment_id', id);
    query.set('limit', String(PAGE_SIZE));
    if (cursor) query.set('cursor', cursor);
    const reply = await rest<CompareReply>('GET', `/v1/compare?${query.toString()}`, undefined, { signal });
    let datasetName: string | null = null;
    try {
      const { dataset } = await gql<{ dataset: { name: string } | null }>(
        DATASET_NAME,
        { id: reply.data.dataset_id },
        { signal },
      );
      datasetName = dataset?.name ?? null;
    } catch {
      /* the name is only for the breadcrumb */
    }
    return { ...reply, datasetName };
  }, [key, cursor]);

  if (ids.length === 0) {
    return (
      <div className="page pg-page pg-empty">
        Pick two or more experiments on a <Link to="/datasets">dataset</Link> page to compare them.
      </div>
    );
  }
  if (result.error !== undefined && !result.data) return <ErrorBox error={result.error} />;
  if (!result.data) return <Loading />;
  const { data, next_cursor: next, datasetName } = result.data;
  // Columns in the order the URL gives; the first is the diff baseline.
  const experiments = ids
    .map((id) => data.experiments.find((e) => e.id === id))
    .filter((e): e is CompareReply['data']['experiments'][number] => !!e);
  const page = cursors.length;

  return (
    <div className="page pg-page">
      <div className="pg-crumbs">
        <Link to="/datasets">Datasets</Link> /{' '}
        <Link to={`/datasets/${encodeURIComponent(data.dataset_id)}`}>{datasetName ?? 'dataset'}</Link> / <span>compare</span>
      </div>
      <div className="pg-header">
        <h1>Compare {experiments.length} experiments</h1>
      </div>
      {result.error !== undefined && <ErrorBox error={result.error} />}
      <AggregateTable experiments={experiments} aggregates={data.aggregates.map((a) => ({ raw: a, agg: aggregateOf(a) }))} />

      <section className="pg-section">
        <div className="pg-section-head">
          <h2>Examples</h2>
          <span className="pg-muted">
            page {page} · {data.examples.length} examples
          </span>
          <div className="pg-spacer" />
          <button
            type="button"
            className="btn"
            data-testid="compare-prev"
            disabled={cursors.length <= 1 || result.loading}
            onClick={() => setCursors((c) => c.slice(0, -1))}
          >
            ← Previous
          </button>
          <button
            type="button"
            className="btn"
            data-testid="compare-next"
            disabled={!next || result.loading}
            onClick={() => next && setCursors((c) => [...c, next])}
          >
            Next →
          </button>
        </div>
        <table className="table pg-table pg-fixed pg-compare">
          <thead>
            <tr>
              <th>Input</th>
              <th>Reference</th>
              {experiments.map((e, i) => (
                <th key={e.id}>
                  <Link to={`/experiments/${encodeURIComponent(e.id)}`} className="strong-link">
                    {e.name || e.id}
                  </Link>
                  {i === 0 && experiments.length > 1 && <span className="pg-muted"> (baseline)</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data.examples.map((example) => (
              <CompareRow key={example.id} example={example} experiments={experiments.map((e) => e.id)} />
            ))}
            {data.examples.length === 0 && (
              <tr>
                <td colSpan={2 + experiments.length} className="pg-empty">
                  No examples.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
    </div>
  );
}

function AggregateTable({
  experiments,
  aggregates,
}: {
  experiments: { id: string; name: string }[];
  aggregates: { raw: Record<string, unknown>; agg: Aggregate }[];
}) {
  const names = [...new Set(aggregates.map((a) => a.agg.name))].sort();
  const find = (name: string, experimentId: string) =>
    aggregates.find((a) => a.agg.name === name && a.raw.experiment_id === experimentId)?.agg;
  return (
    <section className="pg-section">
      <h2>Evaluations</h2>
      <table className="table pg-table">
        <thead>
          <tr>
            <th>Evaluation</th>
            {experiments.map((e) => (
              <th key={e.id}>{e.name || e.id}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {names.map((name) => (
            <tr key={name} data-testid="compare-aggregate" data-name={name}>
              <td>{name}</td>
              {experiments.map((e) => {
                const a = find(name, e.id);
                return (
                  <td key={e.id} title={a ? labelSummary(a.labels) : ''}>
                    {a ? (
                      <>
                        <span className="pg-score" data-testid="compare-mean">
                          {a.mean === null ? '–' : formatScore(a.mean)}
                        </span>{' '}
                        <span className="pg-muted pg-small">
                          mean · {formatNumber(a.scored)}/{formatNumber(a.count)} scored
                        </span>
                        {a.errors > 0 && <span className="pg-error-text pg-small"> · {formatNumber(a.errors)} errors</span>}
                      </>
                    ) : (
                      <span className="pg-muted">–</span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
          {names.length === 0 && (
            <tr>
              <td colSpan={1 + experiments.length} className="pg-empty">
                No evaluations on these experiments.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

function Diff({ before, after }: { before: string; after: string }) {
  const parts = useMemo(() => wordDiff(before, after), [before, after]);
  if (!parts) return <span className="pg-pre">{after}</span>;
  return (
    <span className="pg-pre pg-diff" data-testid="compare-diff">
      {parts.map((part, i) =>
        part.op === 'same' ? (
          <span key={i}>{part.text}</span>
        ) : part.op === 'ins' ? (
          <ins key={i}>{part.text}</ins>
        ) : (
          <del key={i}>{part.text}</del>
        ),
      )}
    </span>
  );
}

function CompareRow({ example, experiments }: { example: CompareExample; experiments: string[] }) {
  const first = (id: string) => example.runs[id]?.[0];
  const baseline = first(experiments[0]);
  const baselineText = baseline ? valueText(baseline.output) : '';
  return (
    <tr data-testid="compare-row" data-id={example.id}>
      <td className="pg-json" title={prettyJson(example.input)}>
        {compactJson(example.input, 600)}
      </td>
      <td className="pg-json" title={prettyJson(example.expected)}>
        {compactJson(example.expected, 600)}
      </td>
      {experiments.map((id, index) => {
        const runs = example.runs[id] ?? [];
        const run = runs[0];
        if (!run) {
          return (
            <td key={id} className="pg-muted" data-testid="compare-output">
              no run
            </td>
          );
        }
        const text = valueText(run.output);
        const differs = index > 0 && !!baseline && text !== baselineText;
        return (
          <td key={id} className={differs ? 'pg-differs' : undefined}>
            <div className="pg-output" data-testid="compare-output" title={prettyJson(run.output)}>
              {differs ? <Diff before={baselineText} after={text} /> : <span className="pg-pre">{text}</span>}
            </div>
            {run.error && <div className="pg-error-text pg-small">{run.error}</div>}
            <div className="pg-evals">
              {Object.entries(run.evaluations).map(([name, e]) => (
                <span
                  key={name}
                  className={`pg-chip${e.error ? ' pg-chip-error' : ''}`}
                  title={e.error ?? e.explanation ?? ''}
                >
                  {name}: {e.error ? (e.error_kind ?? 'error') : formatScore(e.score) || e.label || '–'}
                  {!e.error && e.label && e.score !== null ? ` (${e.label})` : ''}
                </span>
              ))}
              {runs.length > 1 && <span className="pg-muted pg-small">+{runs.length - 1} repetitions</span>}
            </div>
          </td>
        );
      })}
    </tr>
  );
}
