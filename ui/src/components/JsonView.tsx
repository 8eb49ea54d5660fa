import { useState, type ReactNode } from 'react';

export interface JsonViewProps {
  value: unknown;
  /** nodes deeper than this start collapsed (default 2) */
  depth?: number;
  /** parse string values that hold JSON objects/arrays (default false) */
  parseStrings?: boolean;
  className?: string;
  'data-testid'?: string;
}

const PAGE = 100;

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return v !== null && typeof v === 'object';
}

function maybeParse(v: unknown, parse: boolean): unknown {
  if (!parse || typeof v !== 'string') return v;
  const t = v.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return v;
  try {
    return JSON.parse(t);
  } catch {
    return v;
  }
}

function Scalar({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="jv-null">null</span>;
  switch (typeof value) {
    case 'string':
      return <span className="jv-string">{JSON.stringify(value)}</span>;
    case 'number':
      return <span className="jv-number">{String(value)}</span>;
    case 'boolean':
      return <span className="jv-bool">{String(value)}</span>;
    default:
      return <span>{String(value)}</span>;
  }
}

function Node({
  name,
  value: raw,
  level,
  depth,
  parse,
  last,
}: {
  name?: ReactNode;
  value: unknown;
  level: number;
  depth: number;
  parse: boolean;
  last: boolean;
}) {
  const value = maybeParse(raw, parse);
  const [open, setOpen] = useState(level < depth);
  const [limit, setLimit] = useState(PAGE);
  const comma = last ? null : <span className="jv-punct">,</span>;
  const label =
    name !== undefined ? (
      <>
        <span className="jv-key">{name}</span>
        <span className="jv-punct">: </span>
      </>
    ) : null;
  if (!isContainer(value)) {
    return (
      <div className="jv-line">
        {label}
        <Scalar value={value} />
        {comma}
      </div>
    );
  }
  const isArr = Array.isArray(value);
  const entries: [string, unknown][] = isArr
    ? (value as unknown[]).map((v, i) => [String(i), v])
    : Object.entries(value as Record<string, unknown>);
  const [o, c] = isArr ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) {
    return (
      <div className="jv-line">
        {label}
        <span className="jv-punct">
          {o}
          {c}
        </span>
        {comma}
      </div>
    );
  }
  const toggle = (
    <button type="button" className="jv-toggle" onClick={() => setOpen(!open)} aria-label={open ? 'collapse' : 'expand'}>
      {open ? '▾' : '▸'}
    </button>
  );
  if (!open) {
    return (
      <div className="jv-line">
        {toggle}
        {label}
        <span className="jv-punct jv-collapsed" onClick={() => setOpen(true)}>
          {o} {isArr ? `${entries.length} items` : `${entries.length} keys`} {c}
        </span>
        {comma}
      </div>
    );
  }
  const shown = entries.slice(0, limit);
  return (
    <div className="jv-block">
      <div className="jv-line">
        {toggle}
        {label}
        <span className="jv-punct">{o}</span>
      </div>
      <div className="jv-children">
        {shown.map(([k, v], i) => (
          <Node
            key={k}
            name={isArr ? undefined : k}
            value={v}
            level={level + 1}
            depth={depth}
            parse={parse}
            last={i === entries.length - 1}
          />
        ))}
        {entries.length > limit && (
          <button type="button" className="jv-more" onClick={() => setLimit(limit + PAGE * 5)}>
            … {entries.length - limit} more
          </button>
        )}
      </div>
      <div className="jv-line">
        <span className="jv-punct">{c}</span>
        {comma}
      </div>
    </div>
  );
}

/** Collapsible JSON tree. */
export function JsonView({ value, depth = 2, parseStrings = false, className, ...rest }: JsonViewProps) {
  return (
    <div className={'json-view' + (className ? ' ' + className : '')} data-testid={rest['data-testid']}>
      <Node value={value} level={0} depth={depth} parse={parseStrings} last />
    </div>
  );
}

export default JsonView;
