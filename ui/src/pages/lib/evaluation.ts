// Shapes shared by the experiment and compare pages.
export interface JobCounts {
  pending: number;
  running: number;
  done: number;
  failed: number;
  total: number;
}

export interface AttachedEvaluator {
  id: string;
  name: string;
  plugin: { name: string; version: string; sha256: string; enabled: boolean } | null;
  config: unknown;
  created_at: string;
  jobs?: JobCounts;
}

export interface EvaluatorsBody {
  evaluators: AttachedEvaluator[];
  jobs: JobCounts;
}

/** The GET /v1/experiments/{id}/evaluators body, with or without its `data` envelope. */
export function evaluatorsBody(value: unknown): EvaluatorsBody {
  const v = (value ?? {}) as Record<string, unknown>;
  const inner = (v.data && typeof v.data === 'object' ? v.data : v) as Partial<EvaluatorsBody>;
  return {
    evaluators: Array.isArray(inner.evaluators) ? inner.evaluators : [],
    jobs: { pending: 0, running: 0, done: 0, failed: 0, total: 0, ...(inner.jobs ?? {}) },
  };
}

export interface Aggregate {
  name: string;
  count: number;
  scored: number;
  errors: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  labels: Record<string, number>;
}

function labelsOf(value: unknown): Record<string, number> {
  if (Array.isArray(value)) {
    const out: Record<string, number> = {};
    for (const item of value) {
      if (item && typeof item === 'object') {
        const { label, count } = item as { label?: unknown; count?: unknown };
        if (typeof label === 'string') out[label] = Number(count ?? 0);
      }
    }
    return out;
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, Number(v)]));
  }
  return {};
}

const num = (v: unknown): number | null => (typeof v === 'number' && !Number.isNaN(v) ? v : null);

/** One aggregate from either the GraphQL (`mean`) or the compare (`mean_score`) spelling. */
export function aggregateOf(raw: Record<string, unknown>, fallbackName = ''): Aggregate {
  return {
    name: String(raw.name ?? raw.evaluation_name ?? fallbackName),
    count: Number(raw.count ?? 0),
    scored: Number(raw.scored ?? 0),
    errors: Number(raw.errors ?? 0),
    mean: num(raw.mean ?? raw.mean_score),
    min: num(raw.min ?? raw.min_score),
    max: num(raw.max ?? raw.max_score),
    labels: labelsOf(raw.labels ?? raw.label_counts),
  };
}

/** Experiment.aggregates: a list, or an object keyed by evaluation name. */
export function aggregatesOf(value: unknown): Aggregate[] {
  if (Array.isArray(value)) return value.filter((x) => x && typeof x === 'object').map((x) => aggregateOf(x));
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, x]) => x && typeof x === 'object')
      .map(([name, x]) => aggregateOf(x as Record<string, unknown>, name));
  }
  return [];
}

export function labelSummary(labels: Record<string, number>): string {
  return Object.entries(labels)
    .sort((a, b) => b[1] - a[1])
    .map(([label, count]) => `${label}: ${count}`)
    .join(', ');
}
