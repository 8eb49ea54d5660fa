// The runs of an experiment: input, reference, output and error, and one column per evaluation.
import { useMemo } from 'react';
import { compactJson, formatScore, prettyJson } from '../../format';
import type { AttachedEvaluator } from '../lib/evaluation';
import type { DatasetLite, Evaluation, ExampleLite, ExperimentDetail } from './types';

/** One evaluation's score (or error kind) and label. */
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

/**
 * The runs in dataset example order (repetitions together), with a column per evaluation name:
 * the attached evaluators' first, in attach order, then any other names the runs carry.
 */
export function Runs({
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
    // Unique: two evaluators may share a name, and names key the columns.
    const out = [...new Set(evaluators.map((e) => e.name))];
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
