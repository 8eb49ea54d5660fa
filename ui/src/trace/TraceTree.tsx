import { memo, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { TraceTreeModel } from './tree';
import { kindClass } from '../components/Badges';
import { formatMs } from '../format';

export const ROW_H = 28;
const OVERSCAN = 10;
const INDENT = 14;
const MAX_INDENT_LEVELS = 40;

export interface TraceTreeProps {
  tree: TraceTreeModel;
  rows: number[]; // visible node indices, pre-order
  selected: number; // node index or -1
  collapsed: ReadonlySet<string>;
  onSelect: (i: number) => void;
  onToggle: (i: number) => void;
  /** bump to scroll the selected row into view */
  revealTick: number;
  revealCenter: boolean;
}

const ABBREV: Record<string, string> = {
  LLM: 'LLM', CHAIN: 'CHAIN', TOOL: 'TOOL', RETRIEVER: 'RETR', EMBEDDING: 'EMBED', AGENT: 'AGENT',
  RERANKER: 'RANK', GUARDRAIL: 'GUARD', EVALUATOR: 'EVAL', PROMPT: 'PRMPT', UNKNOWN: '?',
};

function kindAbbrev(kind: string | null | undefined): string {
  const k = (kind || 'UNKNOWN').toUpperCase();
  return ABBREV[k] ?? k.slice(0, 5);
}

function ticks(duration: number): { pct: number; label: string }[] {
  const out = [];
  for (let k = 0; k <= 4; k++) out.push({ pct: k * 25, label: k === 0 ? '0' : formatMs((duration * k) / 4) });
  return out;
}

/** Tree + waterfall in one fixed-row-height virtual list. */
export const TraceTree = memo(function TraceTree({
  tree,
  rows,
  selected,
  collapsed,
  onSelect,
  onToggle,
  revealTick,
  revealCenter,
}: TraceTreeProps) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewH, setViewH] = useState(800);
  const [gutter, setGutter] = useState(0);

  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const measure = () => {
      setViewH(el.clientHeight || 800);
      setGutter(el.offsetWidth - el.clientWidth);
    };
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // reveal the selected row (keyboard moves, deep links)
  const pos = selected >= 0 ? rows.indexOf(selected) : -1;
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el || pos < 0) return;
    const top = pos * ROW_H;
    const h = el.clientHeight;
    if (revealCenter) {
      if (top < el.scrollTop || top + ROW_H > el.scrollTop + h) el.scrollTop = Math.max(0, top - h / 2 + ROW_H / 2);
    } else if (top < el.scrollTop) {
      el.scrollTop = top;
    } else if (top + ROW_H > el.scrollTop + h) {
      el.scrollTop = top + ROW_H - h;
    }
    setScrollTop(el.scrollTop);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [revealTick]);

  useEffect(() => {
    // the list may shrink (collapse) below the current scroll position
    const el = scrollRef.current;
    if (el && el.scrollTop !== scrollTop) setScrollTop(el.scrollTop);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rows.length]);

  const total = rows.length;
  const start = Math.max(0, Math.floor(scrollTop / ROW_H) - OVERSCAN);
  const end = Math.min(total, Math.ceil((scrollTop + viewH) / ROW_H) + OVERSCAN);
  const dur = tree.duration > 0 ? tree.duration : 1;
  const { spans } = tree;

  const rowEls = [];
  const barEls = [];
  for (let k = start; k < end; k++) {
    const i = rows[k];
    const s = spans[i];
    const d = tree.depth[i];
    const hasKids = !!tree.children[i];
    const isCollapsed = hasKids && collapsed.has(s.spanId);
    const isErr = s.statusCode === 'ERROR';
    const indent = Math.min(d, MAX_INDENT_LEVELS) * INDENT;
    rowEls.push(
      <div
        key={s.spanId}
        className={'tree-row' + (i === selected ? ' selected' : '') + (isErr ? ' is-error' : '')}
        data-testid="tree-row"
        data-span-id={s.spanId}
        role="treeitem"
        aria-level={d + 1}
        aria-selected={i === selected}
        aria-expanded={hasKids ? !isCollapsed : undefined}
        style={{ top: k * ROW_H, height: ROW_H }}
        onClick={() => onSelect(i)}
        title={`${s.name} · ${formatMs(s.latencyMs)}`}
      >
        <div className="tree-cell">
          <span className="tree-indent" style={{ width: indent }}>
            {d > MAX_INDENT_LEVELS && <span className="deep-mark">{d}</span>}
          </span>
          {hasKids ? (
            <button
              type="button"
              className="tree-caret"
              aria-label={isCollapsed ? 'expand' : 'collapse'}
              onClick={(e) => {
                e.stopPropagation();
                onToggle(i);
              }}
            >
              {isCollapsed ? '▸' : '▾'}
            </button>
          ) : (
            <span className="tree-caret-spacer" />
          )}
          <span className={'kind-chip ' + kindClass(s.spanKind)}>{kindAbbrev(s.spanKind)}</span>
          <span className="tree-name">{s.name}</span>
          {isCollapsed && <span className="tree-hidden">+{tree.subtree[i]}</span>}
          {isErr && <span className="tree-err" title="error">●</span>}
          <span className="tree-latency">{formatMs(s.latencyMs)}</span>
        </div>
      </div>,
    );
    const left = ((s.startOffsetMs - tree.minOffset) / dur) * 100;
    const width = (Math.max(0, s.latencyMs) / dur) * 100;
    barEls.push(
      <div
        key={s.spanId}
        className={'wf-bar ' + kindClass(s.spanKind) + (isErr ? ' is-error' : '') + (i === selected ? ' selected' : '')}
        style={{ top: k * ROW_H + 8, left: `${Math.min(left, 100)}%`, width: `max(2px, ${Math.min(width, 100 - Math.min(left, 100))}%)` }}
      />,
    );
  }

  return (
    <div className="tree-panel">
      <div className="tree-header" style={{ paddingRight: gutter }}>
        <div className="tree-header-name">Span</div>
        <div className="tree-header-wf">
          {ticks(tree.duration).map((t) => (
            <span
              key={t.pct}
              className="wf-tick"
              style={
                t.pct === 100 ? { right: 0 } : t.pct === 0 ? { left: 0 } : { left: `${t.pct}%`, transform: 'translateX(-50%)' }
              }
            >
              {t.label}
            </span>
          ))}
        </div>
      </div>
      <div
        ref={scrollRef}
        className="trace-tree"
        data-testid="trace-tree"
        role="tree"
        tabIndex={0}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      >
        <div className="tree-spacer" style={{ height: total * ROW_H }}>
          {rowEls}
          <div className="waterfall" data-testid="waterfall" aria-hidden="true">
            {barEls}
          </div>
        </div>
      </div>
    </div>
  );
});
