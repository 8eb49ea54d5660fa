const KINDS = new Set([
  'LLM', 'CHAIN', 'TOOL', 'RETRIEVER', 'EMBEDDING', 'AGENT', 'RERANKER', 'GUARDRAIL', 'EVALUATOR', 'PROMPT',
]);

export const SPAN_KINDS = [
  'LLM', 'CHAIN', 'TOOL', 'RETRIEVER', 'EMBEDDING', 'AGENT', 'RERANKER', 'GUARDRAIL', 'EVALUATOR', 'UNKNOWN',
];

export function kindClass(kind: string | null | undefined): string {
  const k = (kind || 'UNKNOWN').toUpperCase();
  return KINDS.has(k) ? 'kind-' + k.toLowerCase() : 'kind-unknown';
}

export function KindBadge({ kind }: { kind: string | null | undefined }) {
  const k = (kind || 'UNKNOWN').toUpperCase();
  return <span className={'badge kind-badge ' + kindClass(k)}>{k.toLowerCase()}</span>;
}

export function StatusBadge({ code, message }: { code: string | null | undefined; message?: string | null }) {
  const c = (code || 'UNSET').toUpperCase();
  const cls = c === 'OK' ? 'status-ok' : c === 'ERROR' ? 'status-error' : 'status-unset';
  return (
    <span className={'status ' + cls} title={message || undefined}>
      <span className="status-dot" aria-hidden="true" />
      {c}
    </span>
  );
}

export function StatusDot({ code }: { code: string | null | undefined }) {
  const c = (code || 'UNSET').toUpperCase();
  const cls = c === 'OK' ? 'status-ok' : c === 'ERROR' ? 'status-error' : 'status-unset';
  return <span className={'status-dot ' + cls} title={c} aria-label={c} />;
}
