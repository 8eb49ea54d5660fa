// A span's annotations: the list, and a form that adds one through the GraphQL mutation.
import { useState, type FormEvent } from 'react';
import { errorMessage, gql } from '../../api';
import { Section } from '../../components/misc';
import { formatSignificant, formatTime } from '../../format';
import { ADD_ANNOTATION, ANNOTATIONS_QUERY, type Annotation } from './types';

/** Name, label, score and explanation of a new annotation; `onAdded` runs once it is stored. */
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
    <form className="annotation-form" data-testid="annotation-form" data-write="" onSubmit={submit}>
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

/**
 * The Annotations section of a span. After an annotation is added the span's annotations are
 * fetched again and handed to `onAnnotations`, which owns the span data.
 */
export function AnnotationsSection({
  spanId,
  annotations,
  onAnnotations,
}: {
  spanId: string;
  annotations: Annotation[];
  onAnnotations: (spanId: string, a: Annotation[]) => void;
}) {
  const refreshAnnotations = () => {
    gql<{ span: { annotations: Annotation[] } | null }>(ANNOTATIONS_QUERY, { spanId })
      .then((d) => {
        if (d.span) onAnnotations(spanId, d.span.annotations);
      })
      .catch(() => undefined);
  };

  return (
    <Section title={`Annotations (${annotations.length})`}>
      {annotations.length > 0 && (
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
            {annotations.map((a) => (
              <tr key={a.id} data-testid="annotation-row">
                <td className="strong">{a.name}</td>
                <td>{a.label ?? <span className="muted">—</span>}</td>
                <td className="num mono">{formatSignificant(a.score)}</td>
                <td className="pre-wrap">{a.explanation ?? ''}</td>
                <td className="small muted">{a.annotatorKind}</td>
                <td className="small muted">{formatTime(a.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <AnnotationForm spanId={spanId} onAdded={refreshAnnotations} />
    </Section>
  );
}
