// Display formatting shared by every page: times, durations, numbers, costs, scores, JSON.

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** "2025-11-24 19:50:12" in local time; "—" for empty or invalid input. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** Like formatTime with milliseconds. */
export function formatTimePrecise(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${formatTime(iso)}.${pad(d.getMilliseconds(), 3)}`;
}

/** "3s ago", "5m ago", … falling back to formatTime beyond a week. */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return String(iso);
  const s = Math.round((now - t) / 1000);
  if (s < 0) return formatTime(iso);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  if (s < 7 * 86400) return `${Math.floor(s / 86400)}d ago`;
  return formatTime(iso);
}

/** Durations: "0.42ms", "12ms", "1.25s", "2m 05s", "1h 02m". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 0) ms = 0;
  if (ms < 1) return `${ms.toFixed(2)}ms`;
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad(Math.round(s - m * 60))}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${pad(m - h * 60)}m`;
}

const intFmt = new Intl.NumberFormat('en-US');
const decFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 });

/** Grouped integer ("12,345"); decimals up to 3 places; "—" for null. */
export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return Number.isInteger(n) ? intFmt.format(n) : decFmt.format(n);
}

/** Compact count: 1.2k, 3.4M. */
export function formatCompact(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  const a = Math.abs(n);
  if (a < 1000) return formatNumber(n);
  if (a < 1e6) return `${(n / 1e3).toFixed(a < 1e4 ? 1 : 0)}k`;
  if (a < 1e9) return `${(n / 1e6).toFixed(a < 1e7 ? 1 : 0)}M`;
  return `${(n / 1e9).toFixed(1)}B`;
}

/** US dollars with enough precision for per-call costs. */
export function formatCost(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (n === 0) return '$0';
  const a = Math.abs(n);
  if (a < 0.0001) return `$${n.toExponential(1)}`;
  if (a < 0.01) return `$${n.toFixed(4)}`;
  if (a < 1) return `$${n.toFixed(3)}`;
  return `$${n.toFixed(2)}`;
}

/** One-line preview: whitespace collapsed, cut to `max` characters. */
export function preview(s: string | null | undefined, max = 120): string {
  if (!s) return '';
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? one.slice(0, max - 1) + '…' : one;
}

/** Short form of a long id. */
export function shortId(id: string | null | undefined, n = 8): string {
  if (!id) return '';
  return id.length > n + 2 ? id.slice(0, n) : id;
}

/** Parse JSON, returning undefined when it does not parse. */
export function tryParseJson(s: string | null | undefined): unknown {
  if (s === null || s === undefined) return undefined;
  const t = s.trim();
  if (!t) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

/** A score with at most 3 decimals ("1", "0.5", "0.333"); "" for none. */
export function formatScore(score: number | null | undefined): string {
  if (score === null || score === undefined || Number.isNaN(score)) return '';
  const rounded = Math.round(score * 1000) / 1000;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

/** A number to 6 significant digits (retrieval and annotation scores); "—" for none. */
export function formatSignificant(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return String(Number(n.toPrecision(6)));
}

/** Bytes as B/KiB/MiB/GiB; "—" for none. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value >= 10 ? 0 : 1)} ${units[unit]}`;
}

/** JSON on one line, cut to `max` characters; "" for undefined. */
export function compactJson(value: unknown, max = 300): string {
  if (value === undefined) return '';
  let text: string;
  try {
    text = JSON.stringify(value) ?? '';
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Full JSON, pretty, for tooltips and detail views. */
export function prettyJson(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? '';
  } catch {
    return String(value);
  }
}

/** A run output or expected value as text: strings as they are, anything else as JSON. */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
