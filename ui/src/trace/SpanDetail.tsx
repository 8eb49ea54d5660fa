// The detail pane of the trace view: everything about one span, one section per concern (the
// sections live in ./detail/).
import { useMemo, type ReactNode } from 'react';
import { JsonView } from '../components/JsonView';
import { KindBadge, StatusBadge } from '../components/Badges';
import { CopyButton, Section } from '../components/misc';
import { formatCost, formatMs, formatNumber, formatTimePrecise } from '../format';
import { get, parseMaybe, unflatten } from './attrs';
import type { Annotation, SpanFull } from './detail/types';
import { KeyValues } from './detail/KeyValues';
import { IoBlock } from './detail/IoBlock';
import { LlmSections } from './detail/LlmSections';
import { RetrievalSections } from './detail/RetrievalSections';
import { EventsSection, ExceptionsSection, parseEvents } from './detail/EventSections';
import { AnnotationsSection } from './detail/Annotations';

/**
 * One span in full: header, summary, exceptions, LLM and retrieval sections, input/output,
 * metadata, events, annotations (with the form to add one) and the raw attributes.
 * `onAnnotations` receives the span's annotations after one is added.
 */
export function SpanDetail({
  span,
  onAnnotations,
}: {
  span: SpanFull;
  onAnnotations: (spanId: string, a: Annotation[]) => void;
}) {
  const attrs = useMemo(() => unflatten(span.attributes ?? {}), [span.attributes]);
  const events = useMemo(() => parseEvents(span.events), [span.events]);
  const metadata = parseMaybe(get(attrs, 'metadata'));

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
        <KeyValues
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

      <ExceptionsSection events={events} spanStart={span.startTime} />
      <LlmSections attrs={attrs} />
      <RetrievalSections attrs={attrs} />

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

      <EventsSection events={events} spanStart={span.startTime} />
      <AnnotationsSection spanId={span.spanId} annotations={span.annotations} onAnnotations={onAnnotations} />

      <Section title="Attributes" testId="span-attributes-section">
        <div className="attrs-toolbar">
          <CopyButton text={JSON.stringify(span.attributes ?? {}, null, 2)} label="Copy JSON" />
        </div>
        <JsonView value={span.attributes ?? {}} depth={1} data-testid="span-attributes" />
      </Section>
    </div>
  );
}
