// The spans table's selection bar: "N selected" and "Add to dataset", which opens a small panel
// turning the selected spans into dataset examples (one per span) — a new dataset
// (POST /v1/datasets/from_spans) or a new version of an existing one
// (POST /v1/datasets/{id}/examples/from_spans).
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { errorMessage, gql, isAbort, rest } from '../../api';
import { Link } from '../../router';
import { useAsync } from '../../components/useAsync';
import { formatNumber } from '../../format';
import type { SpanSelection } from './useSpanSelection';
import './selection.css';

type Mode = 'new' | 'existing';

interface DatasetOption {
  id: string;
  name: string;
  exampleCount: number;
}

/** The `data` of the from_spans replies. */
interface FromSpansReply {
  data: { dataset_id: string; version_id: string; num_created_examples: number };
}

/** The last request's outcome, shown until dismissed or replaced. */
interface Done {
  id: string;
  name: string;
  count: number;
  created: boolean;
}

const DATASETS = `query DatasetsForSpans { datasets { id name exampleCount } }`;

/**
 * The bar above the spans table while spans are selected, the panel it opens and the link to
 * the dataset once the examples are stored. `project` (a Project id) scopes the span ids.
 */
export function DatasetFromSpans({ selection, project }: { selection: SpanSelection; project: string | undefined }) {
  const count = selection.ids.size;
  const [open, setOpen] = useState(false);
  const [mode, setMode] = useState<Mode>('new');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [existing, setExisting] = useState<DatasetOption | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<Done | null>(null);
  const ctrlRef = useRef<AbortController | null>(null);

  // The request in flight is cancelled when the page goes away.
  useEffect(() => () => ctrlRef.current?.abort(), []);

  // Nothing selected any more (filters changed, selection cleared): the panel closes.
  if (open && count === 0 && !busy) {
    setOpen(false);
    setError(null);
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy || count === 0) return;
    const spanIds = [...selection.ids];
    const target = mode === 'new' ? name.trim() : existing?.name;
    if (!target || (mode === 'existing' && !existing)) return;
    ctrlRef.current?.abort();
    const ctrl = new AbortController();
    ctrlRef.current = ctrl;
    setBusy(true);
    setError(null);
    try {
      const reply =
        mode === 'new'
          ? await rest<FromSpansReply>(
              'POST',
              '/v1/datasets/from_spans',
              { name: target, description: description.trim() || undefined, span_ids: spanIds, project },
              { signal: ctrl.signal },
            )
          : await rest<FromSpansReply>(
              'POST',
              `/v1/datasets/${encodeURIComponent(existing!.id)}/examples/from_spans`,
              { span_ids: spanIds, project },
              { signal: ctrl.signal },
            );
      if (ctrl.signal.aborted) return;
      setDone({ id: reply.data.dataset_id, name: target, count: reply.data.num_created_examples, created: mode === 'new' });
      setOpen(false);
      setName('');
      setDescription('');
      selection.setMany(spanIds, false);
    } catch (err) {
      if (isAbort(err) || ctrl.signal.aborted) return;
      setError(errorMessage(err));
    } finally {
      if (ctrlRef.current === ctrl) {
        ctrlRef.current = null;
        setBusy(false);
      }
    }
  };

  const ready = !busy && count > 0 && (mode === 'new' ? name.trim() !== '' : existing !== null);

  return (
    <>
      {count > 0 && (
        <div className="selection-bar" data-testid="span-selection-bar">
          <span className="selection-count">
            <strong>{formatNumber(count)}</strong> selected
          </span>
          <button type="button" className="btn btn-ghost btn-small" onClick={selection.clear}>
            Clear selection
          </button>
          <span className="grow" />
          <button
            type="button"
            className={open ? 'btn btn-small' : 'btn btn-primary btn-small'}
            data-testid="dataset-from-spans"
            data-write=""
            aria-expanded={open}
            onClick={() => {
              setOpen((o) => !o);
              setError(null);
            }}
          >
            {open ? 'Close' : 'Add to dataset'}
          </button>
        </div>
      )}
      {open && count > 0 && (
        <form className="dfs-panel" data-testid="dataset-from-spans-panel" onSubmit={(e) => void submit(e)}>
          <div className="dfs-modes" role="radiogroup" aria-label="Dataset">
            <label className="field-check">
              <input type="radio" name="dfs-mode" checked={mode === 'new'} onChange={() => setMode('new')} />
              <span>New dataset</span>
            </label>
            <label className="field-check">
              <input
                type="radio"
                name="dfs-mode"
                data-testid="dataset-from-spans-mode-existing"
                checked={mode === 'existing'}
                onChange={() => setMode('existing')}
              />
              <span>Existing dataset</span>
            </label>
          </div>
          {mode === 'new' ? (
            <div className="dfs-fields">
              <label className="field">
                <span className="field-label">Name</span>
                <input
                  type="text"
                  data-testid="dataset-from-spans-name"
                  value={name}
                  placeholder="dataset name"
                  spellCheck={false}
                  autoFocus
                  onChange={(e) => setName(e.target.value)}
                />
              </label>
              <label className="field field-grow">
                <span className="field-label">Description (optional)</span>
                <input
                  type="text"
                  data-testid="dataset-from-spans-description"
                  value={description}
                  onChange={(e) => setDescription(e.target.value)}
                />
              </label>
            </div>
          ) : (
            <ExistingPicker value={existing} onChange={setExisting} />
          )}
          <div className="dfs-actions">
            <button type="submit" className="btn btn-primary" data-testid="dataset-from-spans-submit" disabled={!ready}>
              {busy
                ? 'Saving…'
                : `${mode === 'new' ? 'Create dataset' : 'Add'} with ${formatNumber(count)} example${count === 1 ? '' : 's'}`}
            </button>
            <span className="muted small">One example per span: its input, output, and kind/model as metadata.</span>
          </div>
          {error && (
            <div className="error-text dfs-error" role="alert" data-testid="dataset-from-spans-error">
              {error}
            </div>
          )}
        </form>
      )}
      {done && (
        <div className="dfs-done" role="status">
          <span>
            {done.created ? 'Created dataset ' : `Added ${formatNumber(done.count)} example${done.count === 1 ? '' : 's'} to `}
            <Link to={`/datasets/${encodeURIComponent(done.id)}`} className="strong-link" data-testid="dataset-from-spans-link">
              {done.name}
            </Link>
            {done.created ? ` with ${formatNumber(done.count)} example${done.count === 1 ? '' : 's'}.` : ' as a new version.'}
          </span>
          <button type="button" className="btn btn-ghost btn-small" aria-label="Dismiss" onClick={() => setDone(null)}>
            ×
          </button>
        </div>
      )}
    </>
  );
}

/** The existing datasets (GraphQL `datasets`), loaded while the picker is shown. */
function ExistingPicker({ value, onChange }: { value: DatasetOption | null; onChange: (d: DatasetOption | null) => void }) {
  const list = useAsync((signal) => gql<{ datasets: DatasetOption[] }>(DATASETS, {}, { signal }), []);
  const datasets = list.data?.datasets ?? [];
  // A dataset picked earlier that is gone from the list is no choice any more.
  const current = value && datasets.some((d) => d.id === value.id) ? value.id : '';
  const stale = !!list.data && value !== null && current === '';
  useEffect(() => {
    if (stale) onChange(null);
  }, [stale, onChange]);
  return (
    <div className="dfs-fields">
      <label className="field field-grow">
        <span className="field-label">Dataset</span>
        <select
          data-testid="dataset-from-spans-existing"
          value={current}
          disabled={!list.data}
          onChange={(e) => onChange(datasets.find((d) => d.id === e.target.value) ?? null)}
        >
          <option value="">{list.data ? (datasets.length ? 'Choose a dataset…' : 'No datasets yet') : 'Loading…'}</option>
          {datasets.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name} ({formatNumber(d.exampleCount)} examples)
            </option>
          ))}
        </select>
      </label>
      {list.error !== undefined && <div className="error-text small">{errorMessage(list.error)}</div>}
    </div>
  );
}
