// The playground's left column: the chat messages (role, text, order) with their {{variables}},
// and a value for each variable.
import type { Dispatch, SetStateAction } from 'react';
import { ROLES, message, type Message } from './types';

/**
 * The messages and the variables they use. The first user message's text area is the
 * `playground-template` one.
 */
export function MessagesEditor({
  messages,
  setMessages,
  format,
  setFormat,
  variables,
  values,
  setValues,
}: {
  messages: Message[];
  setMessages: Dispatch<SetStateAction<Message[]>>;
  /** the template format: MUSTACHE, F_STRING or NONE */
  format: string;
  setFormat: (format: string) => void;
  /** variable names found in the messages */
  variables: string[];
  values: Record<string, string>;
  setValues: Dispatch<SetStateAction<Record<string, string>>>;
}) {
  // the first user message (else the first) is the template
  const templateIndex = Math.max(
    0,
    messages.findIndex((m) => m.role === 'user'),
  );
  const update = (key: number, patch: Partial<Message>) =>
    setMessages((ms) => ms.map((m) => (m.key === key ? { ...m, ...patch } : m)));
  const remove = (key: number) => setMessages((ms) => (ms.length > 1 ? ms.filter((m) => m.key !== key) : ms));
  const move = (key: number, delta: number) =>
    setMessages((ms) => {
      const i = ms.findIndex((m) => m.key === key);
      const j = i + delta;
      if (i < 0 || j < 0 || j >= ms.length) return ms;
      const copy = [...ms];
      [copy[i], copy[j]] = [copy[j], copy[i]];
      return copy;
    });

  return (
    <div className="pg-playground-left">
      <section className="pg-panel">
        <div className="pg-section-head">
          <h2>Messages</h2>
          <div className="pg-spacer" />
          <label className="pg-inline pg-small">
            Variables
            <select value={format} onChange={(e) => setFormat(e.target.value)}>
              <option value="MUSTACHE">{'{{mustache}}'}</option>
              <option value="F_STRING">{'{f-string}'}</option>
              <option value="NONE">none</option>
            </select>
          </label>
        </div>
        <div className="pg-messages" data-testid="playground-messages">
          {messages.map((m, i) => (
            <div key={m.key} className="pg-message-block" data-testid="playground-message" data-role={m.role}>
              <div className="pg-message-head">
                <select
                  value={m.role}
                  aria-label="role"
                  data-testid="playground-role"
                  onChange={(e) => update(m.key, { role: e.target.value })}
                >
                  {ROLES.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
                <div className="pg-spacer" />
                <button type="button" className="pg-icon-button" title="Move up" disabled={i === 0} onClick={() => move(m.key, -1)}>
                  ↑
                </button>
                <button
                  type="button"
                  className="pg-icon-button"
                  title="Move down"
                  disabled={i === messages.length - 1}
                  onClick={() => move(m.key, 1)}
                >
                  ↓
                </button>
                <button
                  type="button"
                  className="pg-icon-button"
                  title="Remove"
                  disabled={messages.length === 1}
                  onClick={() => remove(m.key)}
                >
                  ✕
                </button>
              </div>
              <textarea
                className="pg-mono"
                rows={Math.min(14, Math.max(3, m.content.split('\n').length + 1))}
                value={m.content}
                placeholder={m.role === 'system' ? 'You are a helpful assistant.' : 'Write a message; {{name}} makes a variable'}
                data-testid={i === templateIndex ? 'playground-template' : 'playground-message-content'}
                onChange={(e) => update(m.key, { content: e.target.value })}
              />
            </div>
          ))}
        </div>
        <div className="pg-form-row">
          <button
            type="button"
            className="btn"
            data-testid="playground-add-message"
            onClick={() =>
              setMessages((ms) => [...ms, message(ms[ms.length - 1]?.role === 'user' ? 'assistant' : 'user', '')])
            }
          >
            + Message
          </button>
        </div>
      </section>

      {variables.length > 0 && (
        <section className="pg-panel" data-testid="playground-variables">
          <h2>Variables</h2>
          {variables.map((name) => (
            <label key={name} className="pg-field">
              <span className="pg-mono">{name}</span>
              <textarea
                rows={2}
                data-testid="playground-variable"
                data-name={name}
                value={values[name] ?? ''}
                onChange={(e) => setValues((v) => ({ ...v, [name]: e.target.value }))}
              />
            </label>
          ))}
        </section>
      )}
    </div>
  );
}
