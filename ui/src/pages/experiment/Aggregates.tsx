// The experiment's aggregate scores, one row per evaluation name.
import { formatNumber, formatScore } from '../../format';
import { aggregatesOf, labelSummary } from '../lib/evaluation';

/** Count, scored, errors, mean/min/max and label counts of each evaluation (Experiment.aggregates). */
export function Aggregates({ value }: { value: unknown }) {
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
              <td className="pg-num">{formatNumber(a.count)}</td>
              <td className="pg-num">{formatNumber(a.scored)}</td>
              <td className={`pg-num${a.errors > 0 ? ' pg-error-text' : ''}`}>{formatNumber(a.errors)}</td>
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
