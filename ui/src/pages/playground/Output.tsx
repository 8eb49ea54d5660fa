// The playground's Output panel: the provider's answer, its tool calls, usage, cost, latency and
// a link to the span the run was recorded as.
import { errorMessage } from '../../api';
import { Link } from '../../router';
import { formatNumber, prettyJson } from '../../format';
import type { ChatReply } from './types';

/** The last run's answer or error. */
export function Output({ running, reply, error }: { running: boolean; reply: ChatReply['data'] | null; error: unknown }) {
  return (
    <section className="pg-panel" data-testid="playground-output" aria-live="polite">
      <h2>Output</h2>
      {running && <div className="pg-muted">Waiting for the provider…</div>}
      {!running && !reply && error === undefined && <div className="pg-muted">Run the messages to see the answer.</div>}
      {error !== undefined && (
        <div className="pg-error-box" role="alert" data-testid="playground-error">
          {errorMessage(error)}
        </div>
      )}
      {reply && (
        <>
          <div className="pg-answer pg-pre" data-testid="playground-content">
            {reply.message.content}
          </div>
          {(reply.message.tool_calls ?? []).map((call, i) => (
            <div key={call.id || i} className="pg-tool-call" data-testid="playground-tool-call">
              <span className="pg-badge">tool call</span> <strong className="pg-mono">{call.name}</strong>
              <pre className="pg-pre pg-mono">{typeof call.arguments === 'string' ? call.arguments : prettyJson(call.arguments)}</pre>
            </div>
          ))}
          <dl className="pg-facts">
            <dt>Model</dt>
            <dd className="pg-mono">{reply.model}</dd>
            {reply.finish_reason && (
              <>
                <dt>Finish</dt>
                <dd>{reply.finish_reason}</dd>
              </>
            )}
            <dt>Tokens</dt>
            <dd data-testid="playground-usage">
              {reply.usage
                ? `${formatNumber(reply.usage.prompt_tokens)} prompt · ${formatNumber(reply.usage.completion_tokens)} completion · ${formatNumber(
                    reply.usage.total_tokens,
                  )} total`
                : '–'}
            </dd>
            <dt>Cost</dt>
            <dd data-testid="playground-cost">{reply.cost === null || reply.cost === undefined ? '–' : `$${reply.cost.toFixed(6)}`}</dd>
            <dt>Latency</dt>
            <dd>
              {Math.round(reply.latency_ms)} ms{reply.attempts > 1 ? ` · ${reply.attempts} attempts` : ''}
            </dd>
            <dt>Span</dt>
            <dd>
              {reply.trace_id && reply.span_id ? (
                <Link
                  data-testid="playground-span-link"
                  to={`/projects/${encodeURIComponent(reply.project_id ?? reply.project_name)}/traces/${encodeURIComponent(
                    reply.trace_id,
                  )}?span=${encodeURIComponent(reply.span_id)}`}
                >
                  view the recorded span in {reply.project_name}
                </Link>
              ) : (
                <span className="pg-muted">not recorded</span>
              )}
            </dd>
          </dl>
        </>
      )}
    </section>
  );
}
