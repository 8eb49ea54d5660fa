// The spans table's filters: their URL form (`?range=1h&kind=LLM&…`) and the GraphQL SpanFilter
// they become. The URL is the only state, so filtered views can be linked and reloaded.

export type Sort = 'START_TIME_DESC' | 'START_TIME_ASC';
export type Range = '15m' | '1h' | '24h' | '7d' | 'all' | 'custom';

/** The time ranges of the Time picker; `ms` is the span of a relative one. */
export const RANGES: { value: Range; label: string; ms?: number }[] = [
  { value: '15m', label: 'Last 15 min', ms: 15 * 60e3 },
  { value: '1h', label: 'Last hour', ms: 3600e3 },
  { value: '24h', label: 'Last 24 hours', ms: 24 * 3600e3 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 24 * 3600e3 },
  { value: 'all', label: 'All time' },
  { value: 'custom', label: 'Custom…' },
];

/** The filters in force, as read from the URL. */
export interface Applied {
  range: Range;
  from: string; // datetime-local, custom range only
  to: string;
  kinds: string[];
  status: string;
  name: string;
  model: string;
  attr: string;
  sort: Sort;
  rootOnly: boolean;
}

/** The filters of a query string. */
export function readApplied(search: string): Applied {
  const q = new URLSearchParams(search);
  const range = (q.get('range') as Range) || 'all';
  return {
    range: RANGES.some((r) => r.value === range) ? range : 'all',
    from: q.get('from') ?? '',
    to: q.get('to') ?? '',
    kinds: q.getAll('kind'),
    status: q.get('status') ?? '',
    name: q.get('name') ?? '',
    model: q.get('model') ?? '',
    attr: q.get('attr') ?? '',
    sort: q.get('sort') === 'asc' ? 'START_TIME_ASC' : 'START_TIME_DESC',
    rootOnly: q.get('root') === '1',
  };
}

/** The query string of some filters; defaults are left out, so no filter is "". */
export function writeApplied(a: Applied): URLSearchParams {
  const q = new URLSearchParams();
  if (a.range !== 'all') q.set('range', a.range);
  if (a.range === 'custom') {
    if (a.from) q.set('from', a.from);
    if (a.to) q.set('to', a.to);
  }
  for (const k of a.kinds) q.append('kind', k);
  if (a.status) q.set('status', a.status);
  if (a.name) q.set('name', a.name);
  if (a.model) q.set('model', a.model);
  if (a.attr) q.set('attr', a.attr);
  if (a.sort === 'START_TIME_ASC') q.set('sort', 'asc');
  if (a.rootOnly) q.set('root', '1');
  return q;
}

/** "key=value": value parsed as JSON when it parses, else kept as a string. */
export function parseAttributeFilter(s: string): { key: string; value: unknown } | null | 'invalid' {
  const t = s.trim();
  if (!t) return null;
  const eq = t.indexOf('=');
  if (eq <= 0) return 'invalid';
  const key = t.slice(0, eq).trim();
  const raw = t.slice(eq + 1).trim();
  if (!key) return 'invalid';
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  return { key, value };
}

function localToIso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The GraphQL `SpanFilter` of some filters; relative ranges are resolved against now. */
export function buildFilter(a: Applied): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  const r = RANGES.find((x) => x.value === a.range);
  if (r?.ms) f.startTime = new Date(Date.now() - r.ms).toISOString();
  if (a.range === 'custom') {
    const s = localToIso(a.from);
    const e = localToIso(a.to);
    if (s) f.startTime = s;
    if (e) f.endTime = e;
  }
  if (a.kinds.length) f.kinds = a.kinds;
  if (a.status) f.statusCodes = [a.status];
  if (a.name.trim()) f.names = [a.name.trim()];
  if (a.model.trim()) f.models = [a.model.trim()];
  const attr = parseAttributeFilter(a.attr);
  if (attr && attr !== 'invalid') f.attributes = [attr];
  if (a.rootOnly) f.rootOnly = true;
  return f;
}
