// A span's events: exceptions (events named "exception", shown first and prominently) and the
// others, with their time relative to the span's start.
import { JsonView } from '../../components/JsonView';
import { Section } from '../../components/misc';
import { formatMs, formatTime } from '../../format';
import { asList, get, isObj, parseMaybe, str, unflatten } from '../attrs';

/** One span event, its attributes unflattened. */
export interface SpanEvent {
  name: string;
  timestamp?: string;
  attributes: unknown;
}

/** The events of a span (`Span.events`, a list or its JSON text). */
export function parseEvents(v: unknown): SpanEvent[] {
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

/** The exceptions recorded on a span, with type, message and stack trace. */
export function ExceptionsSection({ events, spanStart }: { events: SpanEvent[]; spanStart: string }) {
  const exceptions = events.filter((e) => e.name === 'exception');
  if (exceptions.length === 0) return null;
  return (
    <Section title={`Exceptions (${exceptions.length})`} className="section-error">
      {exceptions.map((e, i) => {
        const type = str(get(e.attributes, 'exception.type'));
        const message = str(get(e.attributes, 'exception.message'));
        const stack = str(get(e.attributes, 'exception.stacktrace'));
        return (
          <div key={i} className="span-exception" data-testid="span-exception">
            <div className="exc-head">
              <span className="exc-type mono">{type ?? 'Exception'}</span>
              <span className="muted small">{relTime(e.timestamp, spanStart)}</span>
            </div>
            {message && <div className="exc-message">{message}</div>}
            {stack && <pre className="text-block exc-stack">{stack}</pre>}
          </div>
        );
      })}
    </Section>
  );
}

/** The span's events other than exceptions. */
export function EventsSection({ events, spanStart }: { events: SpanEvent[]; spanStart: string }) {
  const otherEvents = events.filter((e) => e.name !== 'exception');
  if (otherEvents.length === 0) return null;
  return (
    <Section title={`Events (${otherEvents.length})`}>
      <ul className="events">
        {otherEvents.map((e, i) => (
          <li key={i} className="event" data-testid="span-event">
            <div className="event-head">
              <span className="mono">{e.name}</span>
              <span className="muted small mono" title={e.timestamp}>
                {relTime(e.timestamp, spanStart)} {e.timestamp ? `(${formatTime(e.timestamp)})` : ''}
              </span>
            </div>
            {isObj(e.attributes) && Object.keys(e.attributes).length > 0 && (
              <JsonView value={e.attributes} depth={1} />
            )}
          </li>
        ))}
      </ul>
    </Section>
  );
}
