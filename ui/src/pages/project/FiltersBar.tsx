// The spans table's filter bar: time range, kind, status, name, model, attribute, sort and
// root-only pickers. It holds no state: the filters live in the URL (see ./filters.ts).
import { SPAN_KINDS } from '../../components/Badges';
import { DebouncedInput } from '../../components/DebouncedInput';
import { parseAttributeFilter, RANGES, type Applied, type Range, type Sort } from './filters';

/** The filter pickers; `update` changes some filters, `onClear` drops them all. */
export function FiltersBar({
  applied,
  filterKey,
  spanNames,
  models,
  update,
  onClear,
}: {
  applied: Applied;
  /** the filters' URL form ("" when none is set) */
  filterKey: string;
  /** distinct values offered by the Name and Model inputs */
  spanNames: string[];
  models: string[];
  update: (patch: Partial<Applied>) => void;
  onClear: () => void;
}) {
  const attrState = parseAttributeFilter(applied.attr);
  return (
    <>
      <div className="filter-bar">
        <label className="field">
          <span className="field-label">Time</span>
          <select
            value={applied.range}
            data-testid="filter-time"
            onChange={(e) => update({ range: e.target.value as Range })}
          >
            {RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        {applied.range === 'custom' && (
          <>
            <label className="field">
              <span className="field-label">From</span>
              <input
                type="datetime-local"
                value={applied.from}
                step={1}
                data-testid="filter-from"
                onChange={(e) => update({ from: e.target.value })}
              />
            </label>
            <label className="field">
              <span className="field-label">To</span>
              <input
                type="datetime-local"
                value={applied.to}
                step={1}
                data-testid="filter-to"
                onChange={(e) => update({ to: e.target.value })}
              />
            </label>
          </>
        )}
        <label className="field">
          <span className="field-label">
            Kind{applied.kinds.length > 0 && <span className="field-count">{applied.kinds.length}</span>}
          </span>
          <span className="multi-wrap">
            <select
              multiple
              className="multi"
              value={applied.kinds}
              data-testid="filter-kind"
              title="Ctrl/⌘-click to pick several"
              onChange={(e) => update({ kinds: Array.from(e.target.selectedOptions).map((o) => o.value) })}
            >
              {SPAN_KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </span>
        </label>
        <label className="field">
          <span className="field-label">Status</span>
          <select value={applied.status} data-testid="filter-status" onChange={(e) => update({ status: e.target.value })}>
            <option value="">Any</option>
            <option value="OK">OK</option>
            <option value="ERROR">ERROR</option>
            <option value="UNSET">UNSET</option>
          </select>
        </label>
        <label className="field">
          <span className="field-label">Name</span>
          <DebouncedInput
            value={applied.name}
            onCommit={(v) => update({ name: v })}
            placeholder="span name"
            list="span-names"
            data-testid="filter-name"
            spellCheck={false}
          />
          <datalist id="span-names">
            {spanNames.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </label>
        <label className="field">
          <span className="field-label">Model</span>
          <DebouncedInput
            value={applied.model}
            onCommit={(v) => update({ model: v })}
            placeholder="model"
            list="span-models"
            data-testid="filter-model"
            spellCheck={false}
          />
          <datalist id="span-models">
            {models.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </label>
        <label className="field field-grow">
          <span className="field-label">Attribute</span>
          <DebouncedInput
            value={applied.attr}
            onCommit={(v) => update({ attr: v })}
            placeholder='key=value, e.g. llm.model_name=gpt-4o or metadata.n=3'
            data-testid="filter-attribute"
            className={attrState === 'invalid' ? 'invalid mono' : 'mono'}
            spellCheck={false}
            delay={600}
          />
        </label>
        <label className="field">
          <span className="field-label">Sort</span>
          <select
            value={applied.sort}
            data-testid="sort"
            onChange={(e) => update({ sort: e.target.value as Sort })}
          >
            <option value="START_TIME_DESC">Newest first</option>
            <option value="START_TIME_ASC">Oldest first</option>
          </select>
        </label>
        <label className="field field-check">
          <input
            type="checkbox"
            checked={applied.rootOnly}
            data-testid="filter-root"
            onChange={(e) => update({ rootOnly: e.target.checked })}
          />
          <span>Root spans only</span>
        </label>
        {filterKey && (
          <button type="button" className="btn btn-ghost" onClick={onClear}>
            Clear
          </button>
        )}
      </div>
      {attrState === 'invalid' && <div className="hint error-text">Attribute filter must look like key=value</div>}
    </>
  );
}
