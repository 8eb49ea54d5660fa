// The spans table: one row per span, newest first by default; a click opens the span in its
// trace. Rows are given; loading, paging and live updates are the page's (see ./useSpansList.ts).
// A checkbox per row (and one in the header for the loaded rows) feeds the selection.
import { useMemo, type RefObject } from 'react';
import { Link, navigate } from '../../router';
import { Loading } from '../../components/Loading';
import { Empty } from '../../components/misc';
import { KindBadge, StatusBadge } from '../../components/Badges';
import { formatCost, formatMs, formatNumber, formatRelative, formatTime, formatTimePrecise, preview } from '../../format';
import type { PageInfo, SpanRow } from './query';
import type { SpanSelection } from './useSpanSelection';
import './selection.css';

function ioPreview(v: SpanRow['input']): string {
  if (!v || !v.value) return '';
  return preview(v.value, 160);
}

/** The table with its loading, empty and end-of-results states, and the infinite-scroll sentinel. */
export function SpansTable({
  projectId,
  rows,
  pageInfo,
  loading,
  loadingMore,
  error,
  filtered,
  newIds,
  sentinelRef,
  selection,
}: {
  projectId: string;
  rows: SpanRow[];
  pageInfo: PageInfo | null;
  loading: boolean;
  loadingMore: boolean;
  error: unknown;
  /** whether any filter is set (for the empty state's hint) */
  filtered: boolean;
  /** rows to highlight as just arrived */
  newIds: ReadonlySet<string>;
  sentinelRef: RefObject<HTMLDivElement | null>;
  selection: SpanSelection;
}) {
  const base = `/projects/${encodeURIComponent(projectId)}`;
  const order = useMemo(() => rows.map((r) => r.spanId), [rows]);
  const picked = selection.ids;
  const loadedPicked = useMemo(() => order.filter((id) => picked.has(id)).length, [order, picked]);
  const allPicked = order.length > 0 && loadedPicked === order.length;
  return (
    <div className="table-wrap">
      <table className="table spans-table" data-testid="spans-table">
        <colgroup>
          <col style={{ width: 34 }} />
          <col style={{ width: 158 }} />
          <col style={{ width: '16%' }} />
          <col style={{ width: 92 }} />
          <col style={{ width: 76 }} />
          <col style={{ width: 76 }} />
          <col style={{ width: 120 }} />
          <col style={{ width: 70 }} />
          <col style={{ width: 70 }} />
          <col />
          <col />
        </colgroup>
        <thead>
          <tr>
            <th className="select-cell">
              <input
                type="checkbox"
                data-testid="span-select-all"
                aria-label={allPicked ? 'Unselect the loaded spans' : 'Select the loaded spans'}
                title={allPicked ? 'Unselect the loaded spans' : 'Select the loaded spans'}
                disabled={order.length === 0}
                checked={allPicked}
                ref={(el) => {
                  if (el) el.indeterminate = loadedPicked > 0 && !allPicked;
                }}
                onChange={() => selection.setMany(order, !allPicked)}
              />
            </th>
            <th>Start time</th>
            <th>Name</th>
            <th>Kind</th>
            <th>Status</th>
            <th className="num">Latency</th>
            <th>Model</th>
            <th className="num">Tokens</th>
            <th className="num">Cost</th>
            <th>Input</th>
            <th>Output</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((s) => {
            const to = `${base}/traces/${encodeURIComponent(s.traceId)}?span=${encodeURIComponent(s.spanId)}`;
            const isPicked = picked.has(s.spanId);
            return (
              <tr
                key={s.id}
                data-testid="span-row"
                data-span-id={s.spanId}
                className={'clickable' + (newIds.has(s.id) ? ' row-new' : '') + (isPicked ? ' row-picked' : '')}
                onClick={(e) => {
                  if ((e.target as HTMLElement).closest('a')) return;
                  if (window.getSelection()?.toString()) return;
                  navigate(to);
                }}
              >
                {/* the checkbox's cell keeps its clicks from opening the span */}
                <td className="select-cell" onClick={(e) => e.stopPropagation()}>
                  <label className="select-hit" title="Select this span">
                    <input
                      type="checkbox"
                      data-testid="span-select"
                      aria-label={`Select span ${s.name}`}
                      checked={isPicked}
                      onChange={(e) => {
                        const native = e.nativeEvent as Partial<MouseEvent>;
                        selection.click(s.spanId, e.target.checked, !!native.shiftKey, order);
                      }}
                    />
                  </label>
                </td>
                <td className="mono small" title={formatTimePrecise(s.startTime)}>
                  {formatTime(s.startTime)}
                </td>
                <td className="cell-ellipsis">
                  {!s.parentId && <span className="root-mark" title="root span">◆</span>}
                  <Link to={to} className="strong-link" title={s.name}>
                    {s.name}
                  </Link>
                </td>
                <td>
                  <KindBadge kind={s.spanKind} />
                </td>
                <td>
                  <StatusBadge code={s.statusCode} message={s.statusMessage} />
                </td>
                <td className="num mono">{formatMs(s.latencyMs)}</td>
                <td className="cell-ellipsis small" title={s.model ?? undefined}>
                  {s.model ?? <span className="muted">—</span>}
                </td>
                <td
                  className="num"
                  title={
                    s.tokenTotal != null
                      ? `prompt ${formatNumber(s.tokenPrompt)} · completion ${formatNumber(s.tokenCompletion)}`
                      : undefined
                  }
                >
                  {s.tokenTotal != null ? formatNumber(s.tokenTotal) : <span className="muted">—</span>}
                </td>
                <td className="num">{s.cost != null ? formatCost(s.cost) : <span className="muted">—</span>}</td>
                <td className="cell-ellipsis io-preview" title={ioPreview(s.input)}>
                  {ioPreview(s.input)}
                </td>
                <td className="cell-ellipsis io-preview" title={ioPreview(s.output)}>
                  {ioPreview(s.output)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {loading && <Loading />}
      {!loading && rows.length === 0 && !error && (
        <Empty title="No spans match">
          {filtered ? 'Try widening the time range or clearing filters.' : 'This project has no spans yet.'}
        </Empty>
      )}
      <div ref={sentinelRef} className="sentinel" aria-hidden="true" />
      {loadingMore && <Loading label="Loading more…" />}
      {!loading && rows.length > 0 && (
        <div className="table-foot muted small">
          {formatNumber(rows.length)} span{rows.length === 1 ? '' : 's'} loaded
          {pageInfo?.hasNextPage ? ' · scroll for more' : ' · end of results'}
          {rows.length > 0 && ` · newest ${formatRelative(rows[0].startTime)}`}
        </div>
      )}
    </div>
  );
}
