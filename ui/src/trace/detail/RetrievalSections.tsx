// The retrieval parts of a span: the documents a retriever returned (`retrieval.documents`) and
// a reranker's query, input and output documents (`reranker.*`).
import { useMemo, useState } from 'react';
import { JsonView } from '../../components/JsonView';
import { Section } from '../../components/misc';
import { formatSignificant } from '../../format';
import { get, parseDocuments, str, type Doc } from '../attrs';
import { KeyValues } from './KeyValues';

/** One retrieved document: rank, id, score, content (long ones clamped) and metadata. */
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
            score {formatSignificant(d.score)}
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

/** The retrieval sections of a span; each shows only when its attributes are there. */
export function RetrievalSections({ attrs }: { attrs: unknown }) {
  const docs = useMemo(() => parseDocuments(get(attrs, 'retrieval.documents')), [attrs]);
  const rerankIn = useMemo(() => parseDocuments(get(attrs, 'reranker.input_documents')), [attrs]);
  const rerankOut = useMemo(() => parseDocuments(get(attrs, 'reranker.output_documents')), [attrs]);
  return (
    <>
      {docs.length > 0 && (
        <Section title={`Retrieved documents (${docs.length})`}>
          {docs.map((d, i) => (
            <DocView key={(d.id ?? '') + i} d={d} index={i} />
          ))}
        </Section>
      )}

      {(rerankIn.length > 0 || rerankOut.length > 0) && (
        <Section title="Reranker">
          <KeyValues
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
    </>
  );
}
