// /datasets: every dataset, and a new one from a CSV, JSONL or JSON file.
import { type FormEvent, useMemo, useRef, useState } from 'react';
import { errorMessage, gql, upload } from '../api';
import { Link } from '../router';
import { useAsync } from '../components/useAsync';
import { Loading } from '../components/Loading';
import { ErrorBox } from '../components/ErrorBox';
import { formatNumber, formatTime } from '../format';
import './pages.css';

interface DatasetItem {
  id: string;
  name: string;
  description: string | null;
  exampleCount: number;
  createdAt: string;
  updatedAt: string;
  versions: { id: string }[];
}

const DATASETS = `query Datasets {
  datasets { id name description exampleCount createdAt updatedAt versions { id } }
}`;

export default function DatasetsPage(_props: { params: Record<string, string> }) {
  const list = useAsync((signal) => gql<{ datasets: DatasetItem[] }>(DATASETS, {}, { signal }), []);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ id: string; name: string; count: number } | null>(null);
  const datasets = list.data?.datasets ?? [];

  return (
    <div className="page pg-page">
      <div className="pg-header">
        <h1>Datasets</h1>
        <div className="pg-spacer" />
        <button
          type="button"
          className={creating ? 'btn' : 'btn btn-primary'}
          data-testid="dataset-new"
          data-write=""
          onClick={() => setCreating((c) => !c)}
        >
          {creating ? 'Close' : 'New dataset'}
        </button>
      </div>
      {creating && (
        <NewDataset
          onCreated={(id, name, count) => {
            setCreated({ id, name, count });
            setCreating(false);
            void list.reload();
          }}
        />
      )}
      {created && (
        <div className="pg-notice">
          Created <Link to={`/datasets/${encodeURIComponent(created.id)}`}>{created.name}</Link> with {created.count}{' '}
          examples.
        </div>
      )}
      {list.error !== undefined && <ErrorBox error={list.error} />}
      {list.loading && !list.data && <Loading />}
      {list.data && (
        <table className="table pg-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Description</th>
              <th className="pg-num">Examples</th>
              <th className="pg-num">Versions</th>
              <th>Created</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {datasets.map((d) => (
              <tr key={d.id} data-testid="dataset-row" data-name={d.name}>
                <td>
                  <Link to={`/datasets/${encodeURIComponent(d.id)}`} className="strong-link">
                    {d.name}
                  </Link>
                </td>
                <td className="pg-muted">{d.description ?? ''}</td>
                <td className="pg-num">{formatNumber(d.exampleCount)}</td>
                <td className="pg-num">{formatNumber(d.versions.length)}</td>
                <td className="pg-nowrap">{formatTime(d.createdAt)}</td>
                <td className="pg-nowrap">{formatTime(d.updatedAt)}</td>
              </tr>
            ))}
            {datasets.length === 0 && (
              <tr>
                <td colSpan={6} className="pg-empty">
                  No datasets yet. Upload a CSV, JSONL or JSON file with “New dataset”.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}

type Role = 'input' | 'output' | 'metadata' | 'span_id' | 'ignore';
type FileFormat = 'csv' | 'jsonl' | 'json';

interface Inspected {
  format: FileFormat;
  columns: string[];
  /** JSON/JSONL objects already shaped as {input, output, metadata}: no keys needed. */
  shaped: boolean;
  rows: number;
}

function formatOf(name: string): FileFormat {
  const lower = name.toLowerCase().replace(/\.gz$/, '');
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.json')) return 'json';
  return 'csv';
}

/** The header of a CSV (first record; quotes honoured). */
function csvHeader(text: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') break;
    else cell += c;
  }
  cells.push(cell);
  return cells.map((c) => c.trim()).filter((c, i) => c !== '' || i < cells.length - 1);
}

function inspect(name: string, text: string): Inspected {
  const format = formatOf(name);
  if (format === 'csv') {
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    return { format, columns: csvHeader(text), shaped: false, rows: Math.max(0, lines.length - 1) };
  }
  let items: unknown[];
  if (format === 'jsonl') {
    items = text
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '')
      .map((l, i) => {
        try {
          return JSON.parse(l) as unknown;
        } catch (err) {
          throw new Error(`line ${i + 1} is not JSON: ${errorMessage(err)}`);
        }
      });
  } else {
    const value = JSON.parse(text) as unknown;
    if (!Array.isArray(value)) throw new Error('a JSON file must hold an array of objects');
    items = value;
  }
  const columns: string[] = [];
  for (const item of items.slice(0, 50)) {
    if (item && typeof item === 'object' && !Array.isArray(item)) {
      for (const key of Object.keys(item)) if (!columns.includes(key)) columns.push(key);
    }
  }
  const shaped = items.length > 0 && items.every((i) => !!i && typeof i === 'object' && 'input' in (i as object));
  return { format, columns, shaped, rows: items.length };
}

function defaultRole(column: string): Role {
  const c = column.toLowerCase();
  if (['output', 'outputs', 'expected', 'answer', 'reference', 'label', 'target', 'ground_truth'].includes(c)) return 'output';
  if (['metadata', 'meta', 'tags', 'split', 'source'].includes(c)) return 'metadata';
  if (c === 'span_id') return 'span_id';
  if (c === 'id' || c === 'example_id') return 'ignore';
  return 'input';
}

function NewDataset({ onCreated }: { onCreated: (id: string, name: string, count: number) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [inspected, setInspected] = useState<Inspected | null>(null);
  const [inspectError, setInspectError] = useState<string | null>(null);
  const [roles, setRoles] = useState<Record<string, Role>>({});
  const [useKeys, setUseKeys] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  // Reading a file is async: only the latest choice may fill the form.
  const choice = useRef(0);
  const chooseFile = async (chosen: File | null) => {
    const mine = ++choice.current;
    setFile(chosen);
    setInspected(null);
    setInspectError(null);
    setError(undefined);
    if (!chosen) return;
    if (!name) setName(chosen.name.replace(/\.(csv|jsonl|ndjson|json)(\.gz)?$/i, ''));
    if (chosen.name.toLowerCase().endsWith('.gz')) {
      setInspected({ format: formatOf(chosen.name), columns: [], shaped: false, rows: 0 });
      return;
    }
    try {
      const text = await chosen.text();
      if (mine !== choice.current) return;
      const result = inspect(chosen.name, text);
      setInspected(result);
      setRoles(Object.fromEntries(result.columns.map((c) => [c, defaultRole(c)])));
      setUseKeys(!result.shaped);
    } catch (err) {
      if (mine === choice.current) setInspectError(errorMessage(err));
    }
  };

  const keyed = useMemo(() => {
    const pick = (role: Role) => Object.entries(roles).filter(([, r]) => r === role).map(([c]) => c);
    return { input: pick('input'), output: pick('output'), metadata: pick('metadata'), span: pick('span_id')[0] };
  }, [roles]);

  const needsKeys = inspected ? inspected.format === 'csv' || useKeys : true;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(undefined);
    try {
      const form = new FormData();
      form.append('name', name.trim());
      if (description.trim()) form.append('description', description.trim());
      form.append('action', 'create');
      if (needsKeys && inspected && inspected.columns.length > 0) {
        for (const k of keyed.input) form.append('input_keys[]', k);
        for (const k of keyed.output) form.append('output_keys[]', k);
        for (const k of keyed.metadata) form.append('metadata_keys[]', k);
        if (keyed.span) form.append('span_id_key', keyed.span);
      }
      form.append('file', file, file.name);
      const reply = await upload<{ data: { dataset_id: string; num_created_examples: number } }>(
        '/v1/datasets/upload',
        form,
      );
      onCreated(reply.data.dataset_id, name.trim(), reply.data.num_created_examples);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="pg-panel" onSubmit={(e) => void submit(e)}>
      <h2>New dataset</h2>
      <div className="pg-form-row">
        <label>
          File (CSV, JSONL or JSON)
          <input
            type="file"
            accept=".csv,.jsonl,.ndjson,.json,.gz,text/csv,application/json"
            data-testid="dataset-upload-input"
            onChange={(e) => void chooseFile(e.target.files?.[0] ?? null)}
          />
        </label>
        <label>
          Name
          <input
            type="text"
            value={name}
            required
            data-testid="dataset-upload-name"
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label className="pg-grow">
          Description
          <input type="text" value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
      </div>
      {inspectError && <div className="pg-error-text">Cannot read the file: {inspectError}</div>}
      {inspected && inspected.format !== 'csv' && inspected.shaped && (
        <label className="pg-check">
          <input type="checkbox" checked={!useKeys} onChange={(e) => setUseKeys(!e.target.checked)} />
          Items already have <code>input</code>/<code>output</code>/<code>metadata</code> objects (use them as they
          are)
        </label>
      )}
      {inspected && needsKeys && inspected.columns.length > 0 && (
        <div className="pg-columns">
          <div className="pg-muted">
            {inspected.rows} rows · choose where each {inspected.format === 'csv' ? 'column' : 'key'} goes:
          </div>
          <table className="table pg-table pg-compact">
            <tbody>
              {inspected.columns.map((column) => (
                <tr key={column}>
                  <td className="pg-mono">{column}</td>
                  <td>
                    <select
                      value={roles[column] ?? 'ignore'}
                      onChange={(e) => setRoles((r) => ({ ...r, [column]: e.target.value as Role }))}
                    >
                      <option value="input">input</option>
                      <option value="output">output (reference)</option>
                      <option value="metadata">metadata</option>
                      <option value="span_id">span id</option>
                      <option value="ignore">ignore</option>
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="pg-form-row">
        <button
          type="submit"
          className="btn btn-primary"
          data-testid="dataset-upload-submit"
          disabled={busy || !file || !name.trim()}
        >
          {busy ? 'Uploading…' : 'Create dataset'}
        </button>
      </div>
      {error !== undefined && <ErrorBox error={error} />}
    </form>
  );
}
