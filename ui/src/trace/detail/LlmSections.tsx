// The LLM parts of a span (OpenInference `llm.*` attributes): the input and output messages
// with their tool calls, the prompt template, the tool definitions and the invocation parameters.
import { useMemo } from 'react';
import { JsonView } from '../../components/JsonView';
import { Section } from '../../components/misc';
import { get, isObj, parseMaybe, parseMessages, parseTools, type Message } from '../attrs';

/** One chat message: role, text or content parts, and the tool calls it makes. */
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

/** The LLM sections of a span; each shows only when its attributes are there. */
export function LlmSections({ attrs }: { attrs: unknown }) {
  const inMsgs = useMemo(() => parseMessages(get(attrs, 'llm.input_messages')), [attrs]);
  const outMsgs = useMemo(() => parseMessages(get(attrs, 'llm.output_messages')), [attrs]);
  const tools = useMemo(() => parseTools(get(attrs, 'llm.tools')), [attrs]);
  const invocation = useMemo(() => parseMaybe(get(attrs, 'llm.invocation_parameters')), [attrs]);
  const template = get(attrs, 'llm.prompt_template.template');
  const templateVars = parseMaybe(get(attrs, 'llm.prompt_template.variables'));
  return (
    <>
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
    </>
  );
}
