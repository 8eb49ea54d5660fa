import { useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { gql, errorMessage } from '../api';
import { JsonView } from '../components/JsonView';
import { KindBadge, StatusBadge } from '../components/Badges';
import { CopyButton, Section } from '../components/misc';
import { formatCost, formatMs, formatNumber, formatTime, formatTimePrecise } from '../format';
import {
  asList,
  get,
  isObj,
  parseDocuments,
  parseMaybe,
  parseMessages,
  parseTools,
  str,
  unflatten,
  type Doc,
  type Message,
} from './attrs';

export interface Annotation {
  id: string;
  name: string;
  annotatorKind: string;
  label: string | null;
  score: number | null;
  explanation: string | null;
  createdAt: string;
}

export interface SpanFull {
  id: string;
  spanId: string;
  traceId: string;
  parentId: string | null;
  name: string;
  spanKind: string;
  statusCode: string;
  statusMessage: string;
  startTime: string;
  endTime: string;
  latencyMs: number;
  model: string | null;
  tokenPrompt: number | null;
  tokenCompletion: number | null;
  tokenTotal: number | null;
  cost: number | null;
  input: { value: string; mimeType: string | null } | null;
  output: { value: string; mimeType: string | null } | null;
  sessionId: string | null;
  attributes: unknown;
  events: unknown;
  annotations: Annotation[];
}

const ANNOTATION_FIELDS = 'id name annotatorKind label score explanation createdAt';

export const SPAN_QUERY = `query SpanDetail($spanId: String!) {
  span(spanId: $spanId) {
    id spanId traceId parentId name spanKind statusCode statusMessage startTime endTime latencyMs
    model tokenPrompt tokenCompletion tokenTotal cost
    input { value mimeType } output { value mimeType } sessionId
    attributes events annotations { ${ANNOTATION_FIELDS} }
  }
}`;

const ANNOTATIONS_QUERY = `query SpanAnnotations($spanId: String!) {
  span(spanId: $spanId) { id annotations { ${ANNOTATION_FIELDS} } }
}`;

const ADD_ANNOTATION = `mutation AddSpanAnnotation($spanId: String!, $name: String!, $label: String, $score: Float, $explanation: String) {
  addSpanAnnotation(spanId: $spanId, name: $name, label: $label, score: $score, explanation: $explanation) { ${ANNOTATION_FIELDS} }
}`;

function fmtScore(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return String(Number(n.toPrecision(6)));
}

function KV({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="kv">
      {items.map(([k, v]) => (
        <div className="kv-row" key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function IoBlock({ value, mimeType }: { value: string; mimeType: string | null | undefined }) {
  const [raw, setRaw] = useState(false);
  const parsed = useMemo(() => {
    const isJsonMime = !!mimeType && /json/i.test(mimeType);
    const t = value.trim();
    if (isJsonMime || t.startsWith('{') || t.startsWith('[')) {
      try {
        return { ok: true as const, v: JSON.parse(t) as unknown };
      } catch {
        return { ok: false as const };
      }
    }
    return { ok: false as const };
  }, [value, mimeType]);
  return (
    <div className="io-block">
      <div className="io-toolbar">
        <span className="muted small mono">{mimeType || 'text/plain'}</span>
        <span className="grow" />
        {parsed.ok && (
          <button type="button" className="btn btn-ghost btn-small" onClick={() => setRaw(!raw)}>
            {raw ? 'Tree' : 'Raw'}
          </button>
        )}
        <CopyButton text={value} />
      </div>
      {parsed.ok && !raw ? (
        isObj(parsed.v) || Array.isArray(parsed.v) ? (
          <JsonView value={parsed.v} depth={3} />
        ) : (
          <pre className="text-block">{JSON.stringify(parsed.v, null, 2)}</pre>
        )
      ) : (
        <pre className="text-block">{parsed.ok ? JSON.stringify(parsed.v, null, 2) : value}</pre>
      )}
    </div>
  );
}

function MessageView({ m }: { m: Message }) {
  const role = m.role.toLowerCase();
  return (
    <div className={'llm-message role-' + role.replace(/[^a-z]/g, '')} data-testid="llm-message" data-role={m.role}>
      <div className="llm-message-head">
        <span className="llm-role">{m.role}</span>
        {m.name && <span className="muted small mono">{m.name}</span>}
        {m.toolCallId && <span className="muted small mono">tool_call_id {m.toolCallId}</span>}
      </div>
      {m.content !== undefined && m.content !== '' && <div className="llm-content">{m.content}</div>}
      {m.contents.map((c, i) =>
        c.type === 'image' && c.imageUrl ? (
          <div key={i} className="llm-content muted mono small">
            [image] {c.imageUrl.length > 120 ? c.imageUrl.slice(0, 120) + '…' : c.imageUrl}
          </div>
        ) : (
          <div key={i} className="llm-content">
            {c.text ?? ''}
          </div>
        ),
      )}
      {m.toolCalls.map((t, i) => (
        <div key={(t.id ?? '') + i} className="tool-call" data-testid="tool-call">
          <div className="tool-call-head">
            <span className="tool-call-icon">ƒ</span>
            <span className="tool-call-name mono">{t.name ?? '(unnamed)'}</span>
            {t.id && <span className="muted small mono">{t.id}</span>}
          </div>
          {t.args && <pre className="text-block tool-call-args">{t.args}</pre>}
        </div>
      ))}
    </div>
  );
}

function DocView({ d, index }: { d: Doc; index: number }) {
  const [expanded, setExpanded] = useState(false);
  const long = (d.content?.length ?? 0) > 600;
  return (
    <div className="retrieval-document" data-testid="retrieval-document">
      <div className="doc-head">
        <span className="doc-index">#{index + 1}</span>
        {d.id && <span className="mono small doc-id">{d.id}</span>}
        <span className="grow" />
        {d.score !== undefined && (
          <span className="doc-score" data-testid="document-score">
            score {fmtScore(d.score)}
          </span>
        )}
      </div>
      {d.content !== undefined && (
        <div className={'doc-content' + (long && !expanded ? ' clamped' : '')}>{d.content}</div>
      )}
      {long && (
        <button type="button" className="btn btn-ghost btn-small" onClick={() => setExpanded(!expanded)}>
          {expanded ? 'Show less' : 'Show all'}
        </button>
      )}
      {d.metadata !== undefined && d.metadata !== null && (
        <div className="doc-meta">
          <JsonView value={d.metadata} depth={0} />
        </div>
      )}
    </div>
  );
}

interface SpanEvent {
  name: string;
  timestamp?: string;
  attributes: unknown;
}

function parseEvents(v: unknown): SpanEvent[] {
  return asList(parseMaybe(v)).map((e) => {
    const o = isObj(e) ? e : {};
    return {
      name: str(o.name) ?? 'event',
      timestamp: str(o.timestamp ?? o.time),
      attributes: unflatten(o.attributes ?? {}),
    };
  });
}

function relTime(ts: string | undefined, start: string): string {
  if (!ts) return '';
  const a = new Date(ts).getTime();
  const b = new Date(start).getTime();
  if (Number.isNaN(a) || Number.isNaN(b)) return ts;
  return `+${formatMs(a - b)}`;
}

function AnnotationForm({ spanId, onAdded }: { spanId: string; onAdded: () => void }) {
  const [name, setName] = useState('');
  const [label, setLabel] = useState('');
  const [score, setScore] = useState('');
  const [explanation, setExplanation] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) {
      setErr('Name is required');
      return;
    }
    let scoreNum: number | null = null;
    if (score.trim() !== '') {
      scoreNum = Number(score);
      if (!Number.isFinite(scoreNum)) {
        setErr('Score must be a number');
        return;
      }
    }
    setBusy(true);
    setErr(null);
    gql(ADD_ANNOTATION, {
      spanId,
      name: name.trim(),
      label: label.trim() || null,
      score: scoreNum,
      explanation: explanation.trim() || null,
    })
      .then(() => {
        setLabel('');
        setScore('');
        setExplanation('');
        onAdded();
      })
      .catch((e2) => setErr(errorMessage(e2)))
      .finally(() => setBusy(false));
  };
  return (
    <form className="annotation-form" data-testid="annotation-form" onSubmit={submit}>
      <div className="form-grid">
        <label className="field">
          <span className="field-label">Name</span>
          <input
            data-testid="annotation-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="correctness"
            required
          />
        </label>
        <label className="field">
          <span className="field-label">Label</span>
          <input
            data-testid="annotation-label"
            value={label}
            onChange={(e) => setLabel(e.target.value)}
            placeholder="correct"
          />
        </label>
        <label className="field">
          <span className="field-label">Score</span>
          <input
            data-testid="annotation-score"
            value={score}
            onChange={(e) => setScore(e.target.value)}
            placeholder="1.0"
            inputMode="decimal"
          />
        </label>
      </div>
      <label className="field">
        <span className="field-label">Explanation</span>
        <textarea
          data-testid="annotation-explanation"
          value={explanation}
          onChange={(e) => setExplanation(e.target.value)}
          rows={2}
        />
      </label>
      <div className="form-actions">
        {err && <span className="error-text small">{err}</span>}
        <span className="grow" />
        <button type="submit" className="btn btn-primary" data-testid="annotation-submit" disabled={busy}>
          {busy ? 'Saving…' : 'Add annotation'}
        </button>
      </div>
    </form>
  );
}

export function SpanDetail({
  span,
  onAnnotations,
}: {
  span: SpanFull;
  onAnnotations: (spanId: string, a: Annotation[]) => void;
}) {
  const attrs = useMemo(() => unflatten(span.attributes ?? {}), [span.attributes]);
  const events = useMemo(() => parseEvents(span.events), [span.events]);
  const inMsgs = useMemo(() => parseMessages(get(attrs, 'llm.input_messages')), [attrs]);
  const outMsgs = useMemo(() => parseMessages(get(attrs, 'llm.output_messages')), [attrs]);
  const tools = useMemo(() => parseTools(get(attrs, 'llm.tools')), [attrs]);
  const invocation = useMemo(() => parseMaybe(get(attrs, 'llm.invocation_parameters')), [attrs]);
  const docs = useMemo(() => parseDocuments(get(attrs, 'retrieval.documents')), [attrs]);
  const rerankIn = useMemo(() => parseDocuments(get(attrs, 'reranker.input_documents')), [attrs]);
  const rerankOut = useMemo(() => parseDocuments(get(attrs, 'reranker.output_documents')), [attrs]);
  const template = get(attrs, 'llm.prompt_template.template');
  const templateVars = parseMaybe(get(attrs, 'llm.prompt_template.variables'));
  const metadata = parseMaybe(get(attrs, 'metadata'));
  const exceptions = events.filter((e) => e.name === 'exception');
  const otherEvents = events.filter((e) => e.name !== 'exception');

  const refreshAnnotations = () => {
    gql<{ span: { annotations: Annotation[] } | null }>(ANNOTATIONS_QUERY, { spanId: span.spanId })
      .then((d) => {
        if (d.span) onAnnotations(span.spanId, d.span.annotations);
      })
      .catch(() => undefined);
  };

  const tokens =
    span.tokenTotal != null || span.tokenPrompt != null || span.tokenCompletion != null
      ? `${formatNumber(span.tokenPrompt)} prompt · ${formatNumber(span.tokenCompletion)} completion · ${formatNumber(span.tokenTotal)} total`
      : '—';

  return (
    <div className="span-detail" data-testid="span-detail" data-span-id={span.spanId}>
      <div className="detail-head">
        <div className="detail-title-row">
          <KindBadge kind={span.spanKind} />
          <h2 className="detail-title" title={span.name}>
            {span.name}
          </h2>
          <StatusBadge code={span.statusCode} message={span.statusMessage} />
        </div>
        <div className="detail-ids mono small muted">
          span {span.spanId}
          {span.parentId ? ` · parent ${span.parentId}` : ' · root'}
        </div>
      </div>

      <Section title="Summary" testId="span-summary">
        <KV
          items={[
            ['Status', <>
              <StatusBadge code={span.statusCode} />
              {span.statusMessage && <span className="status-msg">{span.statusMessage}</span>}
            </>],
            ['Start', <span className="mono" title={span.startTime}>{formatTimePrecise(span.startTime)}</span>],
            ['End', <span className="mono" title={span.endTime}>{formatTimePrecise(span.endTime)}</span>],
            ['Latency', <span className="mono">{formatMs(span.latencyMs)}</span>],
            ['Model', span.model ? <span className="mono">{span.model}</span> : '—'],
            ['Tokens', tokens],
            ['Cost', formatCost(span.cost)],
            ...(span.sessionId ? ([['Session', <span className="mono">{span.sessionId}</span>]] as [string, ReactNode][]) : []),
          ]}
        />
      </Section>

      {exceptions.length > 0 && (
        <Section title={`Exceptions (${exceptions.length})`} className="section-error">
          {exceptions.map((e, i) => {
            const type = str(get(e.attributes, 'exception.type'));
            const message = str(get(e.attributes, 'exception.message'));
            const stack = str(get(e.attributes, 'exception.stacktrace'));
            return (
              <div key={i} className="span-exception" data-testid="span-exception">
                <div className="exc-head">
                  <span className="exc-type mono">{type ?? 'Exception'}</span>
                  <span className="muted small">{relTime(e.timestamp, span.startTime)}</span>
                </div>
                {message && <div className="exc-message">{message}</div>}
                {stack && <pre className="text-block exc-stack">{stack}</pre>}
              </div>
            );
          })}
        </Section>
      )}

      {(inMsgs.length > 0 || outMsgs.length > 0) && (
        <Section title="Messages">
          <div className="llm-messages" data-testid="llm-messages">
            {inMsgs.length > 0 && (
              <div className="msg-group">
                <div className="msg-group-title">Input</div>
                {inMsgs.map((m, i) => (
                  <MessageView key={'in' + i} m={m} />
                ))}
              </div>
            )}
            {outMsgs.length > 0 && (
              <div className="msg-group">
                <div className="msg-group-title">Output</div>
                {outMsgs.map((m, i) => (
                  <MessageView key={'out' + i} m={m} />
                ))}
              </div>
            )}
          </div>
        </Section>
      )}

      {typeof template === 'string' && (
        <Section title="Prompt template" defaultOpen={false}>
          <pre className="text-block">{template}</pre>
          {templateVars !== undefined && <JsonView value={templateVars} depth={1} />}
        </Section>
      )}

      {tools.length > 0 && (
        <Section title={`Tools (${tools.length})`} defaultOpen={false}>
          <div className="tool-defs">
            {tools.map((t, i) => (
              <div key={t.name + i} className="tool-def">
                <div className="tool-def-name mono">{t.name}</div>
                {t.description && <div className="small muted">{t.description}</div>}
                <JsonView value={t.schema} depth={0} />
              </div>
            ))}
          </div>
        </Section>
      )}

      {invocation !== undefined && (
        <Section title="Invocation parameters">
          {isObj(invocation) || Array.isArray(invocation) ? (
            <JsonView value={invocation} depth={2} />
          ) : (
            <pre className="text-block">{String(invocation)}</pre>
          )}
        </Section>
      )}

      {docs.length > 0 && (
        <Section title={`Retrieved documents (${docs.length})`}>
          {docs.map((d, i) => (
            <DocView key={(d.id ?? '') + i} d={d} index={i} />
          ))}
        </Section>
      )}

      {(rerankIn.length > 0 || rerankOut.length > 0) && (
        <Section title="Reranker">
          <KV
            items={[
              ['Query', str(get(attrs, 'reranker.query')) ?? '—'],
              ['Model', str(get(attrs, 'reranker.model_name')) ?? '—'],
              ['Top k', str(get(attrs, 'reranker.top_k')) ?? '—'],
            ]}
          />
          {rerankIn.length > 0 && <div className="msg-group-title">Input documents ({rerankIn.length})</div>}
          {rerankIn.map((d, i) => (
            <DocView key={'in' + (d.id ?? '') + i} d={d} index={i} />
          ))}
          {rerankOut.length > 0 && <div className="msg-group-title">Output documents ({rerankOut.length})</div>}
          {rerankOut.map((d, i) => (
            <DocView key={'out' + (d.id ?? '') + i} d={d} index={i} />
          ))}
        </Section>
      )}

      {span.input && span.input.value !== '' && (
        <Section title="Input" testId="span-input">
          <IoBlock value={span.input.value} mimeType={span.input.mimeType} />
        </Section>
      )}
      {span.output && span.output.value !== '' && (
        <Section title="Output" testId="span-output">
          <IoBlock value={span.output.value} mimeType={span.output.mimeType} />
        </Section>
      )}

      {metadata !== undefined && (
        <Section title="Metadata" defaultOpen={false}>
          <JsonView value={metadata} depth={2} />
        </Section>
      )}

      {otherEvents.length > 0 && (
        <Section title={`Events (${otherEvents.length})`}>
          <ul className="events">
            {otherEvents.map((e, i) => (
              <li key={i} className="event" data-testid="span-event">
                <div className="event-head">
                  <span className="mono">{e.name}</span>
                  <span className="muted small mono" title={e.timestamp}>
                    {relTime(e.timestamp, span.startTime)} {e.timestamp ? `(${formatTime(e.timestamp)})` : ''}
                  </span>
                </div>
                {isObj(e.attributes) && Object.keys(e.attributes).length > 0 && (
                  <JsonView value={e.attributes} depth={1} />
                )}
              </li>
            ))}
          </ul>
        </Section>
      )}

      <Section title={`Annotations (${span.annotations.length})`}>
        {span.annotations.length > 0 && (
          <table className="table table-compact annotations">
            <thead>
              <tr>
                <th>Name</th>
                <th>Label</th>
                <th className="num">Score</th>
                <th>Explanation</th>
                <th>By</th>
                <th>When</th>
              </tr>
            </thead>
            <tbody>
              {span.annotations.map((a) => (
                <tr key={a.id} data-testid="annotation-row">
                  <td className="strong">{a.name}</td>
                  <td>{a.label ?? <span className="muted">—</span>}</td>
                  <td className="num mono">{fmtScore(a.score)}</td>
                  <td className="pre-wrap">{a.explanation ?? ''}</td>
                  <td className="small muted">{a.annotatorKind}</td>
                  <td className="small muted">{formatTime(a.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <AnnotationForm spanId={span.spanId} onAdded={refreshAnnotations} />
      </Section>

      <Section title="Attributes" testId="span-attributes-section">
        <div className="attrs-toolbar">
          <CopyButton text={JSON.stringify(span.attributes ?? {}, null, 2)} label="Copy JSON" />
        </div>
        <JsonView value={span.attributes ?? {}} depth={1} data-testid="span-attributes" />
      </Section>
    </div>
  );
}
