// The evaluator jobs of an experiment: per attached evaluator, queued/active/done/failed runs.
import { errorMessage } from '../../api';
import { compactJson, prettyJson } from '../../format';
import type { EvaluatorsBody } from '../lib/evaluation';

/** Progress of each attached evaluator; `active` while any job is queued or running. */
export function Jobs({ evals, active, error }: { evals: EvaluatorsBody | null; active: boolean; error: unknown }) {
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
