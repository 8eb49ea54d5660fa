// /datasets/:datasetId: versions, examples as of a version, and the dataset's experiments.
import { useState } from 'react';
import { gql } from '../api';
import { Link, navigate } from '../router';
import { useAsync } from '../components/useAsync';
import { Loading } from '../components/Loading';
import { ErrorBox } from '../components/ErrorBox';
import { compactJson, formatNumber, formatTime, prettyJson } from '../format';
import './pages.css';

interface ExperimentItem {
  id: string;
  name: string | null;
  createdAt: string;
  runCount: number;
  datasetVersionId: string;
  projectName: string | null;
}

interface DatasetDetail {
  id: string;
  name: string;
  description: string | null;
  exampleCount: number;
  createdAt: string;
  updatedAt: string;
  versions: { id: string; description: string | null; createdAt: string }[];
  examples: { id: string; input: unknown; output: unknown; metadata: unknown }[];
  experiments: ExperimentItem[];
}

const DATASET = `query Dataset($id: ID!, $versionId: ID) {
  dataset(id: $id) {
    id name description exampleCount createdAt updatedAt
    versions { id description createdAt }
    examples(versionId: $versionId) { id input output metadata }
    experiments { id name createdAt runCount datasetVersionId projectName }
  }
}`;

export default function DatasetPage({ params }: { params: Record<string, string> }) {
  const datasetId = params.datasetId ?? '';
  const [versionId, setVersionId] = useState<string>('');
  const [selected, setSelected] = useState<string[]>([]);
  const result = useAsync(
    (signal) => gql<{ dataset: DatasetDetail | null }>(DATASET, { id: datasetId, versionId: versionId || null }, { signal }),
    [datasetId, versionId],
  );
  const dataset = result.data?.dataset;

  if (result.error !== undefined && !dataset) return <ErrorBox error={result.error} />;
  if (!result.data) return <Loading />;
  if (!dataset) return <div className="page pg-page pg-empty">No dataset {datasetId}.</div>;

  // Newest first; v1 is the oldest.
  const versions = [...dataset.versions].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const versionLabel = (id: string) => {
    const index = versions.findIndex((v) => v.id === id);
    return index < 0 ? 'unknown version' : `v${versions.length - index}`;
  };
  const toggle = (id: string) =>
    setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));
  const compare = () => navigate(`/compare?${selected.map((id) => `experiment=${encodeURIComponent(id)}`).join('&')}`);

  return (
    <div className="page pg-page">
      <div className="pg-crumbs">
        <Link to="/datasets">Datasets</Link> / <span>{dataset.name}</span>
      </div>
      <div className="pg-header">
        <h1>{dataset.name}</h1>
        <span className="pg-muted">
          {formatNumber(dataset.exampleCount)} examples · {dataset.versions.length} versions · updated{' '}
          {formatTime(dataset.updatedAt)}
        </span>
      </div>
      {dataset.description && <p className="pg-muted">{dataset.description}</p>}
      {result.error !== undefined && <ErrorBox error={result.error} />}

      <section className="pg-section">
        <div className="pg-section-head">
          <h2>Experiments</h2>
          <div className="pg-spacer" />
          <span className="pg-muted">{selected.length > 0 ? `${selected.length} selected` : 'pick 2 or more to compare'}</span>
          <button
            type="button"
            className="btn btn-primary"
            data-testid="compare-button"
            disabled={selected.length < 2}
            onClick={compare}
          >
            Compare
          </button>
        </div>
        <table className="table pg-table">
          <thead>
            <tr>
              <th className="pg-narrow" />
              <th>Name</th>
              <th>Version</th>
              <th className="pg-num">Runs</th>
              <th>Created</th>
              <th>Project</th>
            </tr>
          </thead>
          <tbody>
            {dataset.experiments.map((e) => (
              <tr key={e.id} data-testid="experiment-row" data-id={e.id}>
                <td className="pg-narrow">
                  <input
                    type="checkbox"
                    aria-label={`select ${e.name ?? e.id}`}
                    data-testid="experiment-select"
                    checked={selected.includes(e.id)}
                    onChange={() => toggle(e.id)}
                  />
                </td>
                <td>
                  <Link to={`/experiments/${encodeURIComponent(e.id)}`} className="strong-link">
                    {e.name || e.id}
                  </Link>
                </td>
                <td className="pg-mono" title={e.datasetVersionId}>
                  {versionLabel(e.datasetVersionId)}
                </td>
                <td className="pg-num">{formatNumber(e.runCount)}</td>
                <td className="pg-nowrap">{formatTime(e.createdAt)}</td>
                <td className="pg-mono pg-muted">{e.projectName ?? ''}</td>
              </tr>
            ))}
            {dataset.experiments.length === 0 && (
              <tr>
                <td colSpan={6} className="pg-empty">
                  No experiments yet (create them with the Phoenix client or POST /v1/datasets/…/experiments).
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </section>

      <section className="pg-section">
        <div className="pg-section-head">
          <h2>Examples</h2>
          <label className="pg-inline">
            Version
            <select
              data-testid="dataset-version"
              value={versionId}
              onChange={(e) => setVersionId(e.target.value)}
            >
              <option value="">latest</option>
              {versions.map((v, i) => (
                <option key={v.id} value={v.id}>
                  v{versions.length - i} · {formatTime(v.createdAt)}
                  {v.description ? ` · ${v.description}` : ''}
                </option>
              ))}
            </select>
          </label>
          <span className="pg-muted">{dataset.examples.length} shown</span>
          {result.loading && <span className="pg-muted">loading…</span>}
        </div>
        <table className="table pg-table pg-fixed">
          <thead>
            <tr>
              <th style={{ width: '10rem' }}>Id</th>
              <th>Input</th>
              <th>Output</th>
              <th>Metadata</th>
            </tr>
          </thead>
          <tbody>
            {dataset.examples.map((ex) => (
              <tr key={ex.id} data-testid="example-row">
                <td className="pg-mono pg-ellipsis" title={ex.id}>
                  {ex.id}
                </td>
                <td className="pg-json" title={prettyJson(ex.input)}>
                  {compactJson(ex.input)}
                </td>
                <td className="pg-json" title={prettyJson(ex.output)}>
                  {compactJson(ex.output)}
                </td>
                <td className="pg-json" title={prettyJson(ex.metadata)}>
                  {compactJson(ex.metadata)}
                </td>
              </tr>
            ))}
            {dataset.examples.length === 0 && (
              <tr>
                <td colSpan={4} className="pg-empty">
                  No examples in this version.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
    </div>
  );
}
