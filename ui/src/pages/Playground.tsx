// /playground[?prompt=id[&version=id]]: chat messages with {{variables}}, a provider plugin and
// model, run through POST /v1/playground/chat (recorded as a span), and saved as a prompt version.
import { useEffect, useMemo, useRef, useState } from 'react';
import { ErrorBox, Link, gql, rest, useSearch } from './lib/shared';
import {
  type PromptItem,
  type PromptVersion,
  invocationParams,
  renderTemplate,
  templateMessages,
  templateVariables,
} from './lib/prompt';
import { errorMessage, formatInt, prettyJson, useAsync } from './lib/util';
import './pages.css';

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'];
const MODEL_PROVIDERS = [
  'OPENAI', 'AZURE_OPENAI', 'ANTHROPIC', 'GOOGLE', 'DEEPSEEK', 'XAI', 'OLLAMA', 'AWS', 'CEREBRAS', 'FIREWORKS',
  'GROQ', 'MOONSHOT', 'MINIMAX', 'PERPLEXITY', 'TOGETHER', 'ZAI', 'META',
];

interface Message {
  key: number;
  role: string;
  content: string;
}

interface ProviderPlugin {
  name: string;
  world: string;
  enabled: boolean;
  config: unknown;
}

interface ChatReply {
  data: {
    model: string;
    message: {
      role: string;
      content: string;
      tool_calls?: { id: string; name: string; arguments: unknown }[];
    };
    finish_reason: string | null;
    usage: { prompt_tokens: number | null; completion_tokens: number | null; total_tokens: number | null } | null;
    cost: number | null;
    trace_id: string | null;
    span_id: string | null;
    project_name: string;
    project_id?: string | null;
    attempts: number;
    latency_ms: number;
  };
}

const PLUGINS = `query ProviderPlugins { plugins { name world enabled config } }`;

/** Whether an operator has given the plugin a configuration (an endpoint, models, …). */
function configured(plugin: ProviderPlugin): boolean {
  const config = plugin.config;
  return !!config && typeof config === 'object' && Object.keys(config as object).length > 0;
}

let nextKey = 1;
const message = (role: string, content: string): Message => ({ key: nextKey++, role, content });

/** Where a loaded prompt came from, for saving a new version of it. */
interface Loaded {
  prompt: PromptItem | null;
  version: PromptVersion;
}

export default function PlaygroundPage(_props: { params: Record<string, string> }) {
  const search = useSearch();
  const promptParam = search.get('prompt') ?? '';
  const versionParam = search.get('version') ?? '';

  const plugins = useAsync(() => gql<{ plugins: ProviderPlugin[] }>(PLUGINS), []);
  const providers = useMemo(() => {
    const seen = new Map<string, ProviderPlugin>();
    for (const p of plugins.data?.plugins ?? []) if (p.enabled && p.world === 'provider') seen.set(p.name, p);
    return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
  }, [plugins.data]);

  const [messages, setMessages] = useState<Message[]>(() => [message('user', '')]);
  const [format, setFormat] = useState('MUSTACHE');
  const [values, setValues] = useState<Record<string, string>>({});
  const [provider, setProvider] = useState('');
  const [model, setModel] = useState('');
  const [temperature, setTemperature] = useState('');
  const [maxTokens, setMaxTokens] = useState('');
  const [running, setRunning] = useState(false);
  const [reply, setReply] = useState<ChatReply['data'] | null>(null);
  const [runError, setRunError] = useState<unknown>(undefined);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [loadError, setLoadError] = useState<unknown>(undefined);

  // A prompt named in the URL fills the editor once.
  useEffect(() => {
    if (!promptParam) return;
    let stale = false;
    (async () => {
      try {
        const path = versionParam
          ? `/v1/prompt_versions/${encodeURIComponent(versionParam)}`
          : `/v1/prompts/${encodeURIComponent(promptParam)}/latest`;
        const [version, list] = await Promise.all([
          rest<{ data: PromptVersion }>('GET', path),
          rest<{ data: PromptItem[] }>('GET', '/v1/prompts?limit=1000'),
        ]);
        if (stale) return;
        const v = version.data;
        const prompt = list.data.find((p) => p.id === promptParam || p.name === promptParam) ?? null;
        setLoaded({ prompt, version: v });
        const ms = templateMessages(v.template);
        setMessages(ms.length ? ms.map((m) => message(m.role, m.content)) : [message('user', '')]);
        setFormat(v.template_format || 'MUSTACHE');
        setModel(v.model_name ?? '');
        const params = invocationParams(v.invocation_parameters);
        if (typeof params.temperature === 'number') setTemperature(String(params.temperature));
        const tokens = params.max_tokens ?? params.max_completion_tokens ?? params.max_output_tokens;
        if (typeof tokens === 'number') setMaxTokens(String(tokens));
      } catch (err) {
        if (!stale) setLoadError(err);
      }
    })();
    return () => {
      stale = true;
    };
  }, [promptParam, versionParam]);

  // The provider: the prompt's own when a plugin of that name exists, else the first.
  useEffect(() => {
    if (!providers.length) return;
    if (provider && providers.some((p) => p.name === provider)) return;
    const wanted = loaded?.version.model_provider?.toLowerCase();
    const match = providers.find((p) => p.name.toLowerCase() === wanted);
    setProvider((match ?? providers.find(configured) ?? providers[0]).name);
  }, [providers, loaded, provider]);

  // Models of the chosen provider: its configured list; else what the plugin answers, asked on
  // load only for a provider an operator has configured (an unconfigured one would fail against
  // its vendor's real endpoint), and otherwise when the user picks it or asks.
  const [models, setModels] = useState<string[]>([]);
  const [modelsNote, setModelsNote] = useState<string | null>(null);
  const [modelsAsked, setModelsAsked] = useState(0);
  const userPicked = useRef(false);
  const modelRef = useRef(model);
  modelRef.current = model;
  useEffect(() => {
    setModels([]);
    setModelsNote(null);
    const plugin = providers.find((p) => p.name === provider);
    if (!plugin) return;
    const listed = (plugin.config as { models?: unknown } | null)?.models;
    if (Array.isArray(listed) && listed.every((m) => typeof m === 'string')) {
      setModels(listed as string[]);
      if (!modelRef.current && listed.length) setModel(listed[0] as string);
      return;
    }
    if (!configured(plugin) && !userPicked.current && modelsAsked === 0) {
      setModelsNote('type a model name, or list the provider’s models');
      return;
    }
    let stale = false;
    setModelsNote('listing models…');
    (async () => {
      try {
        const reply = await rest<{ data: string[] }>('GET', `/v1/plugins/${encodeURIComponent(provider)}/models`);
        if (stale) return;
        const list = Array.isArray(reply.data) ? reply.data : [];
        setModels(list);
        setModelsNote(list.length ? null : 'the provider lists no models; type a model name');
        if (!modelRef.current && list.length) setModel(list[0]);
      } catch (err) {
        if (!stale) setModelsNote(`models not listed (${errorMessage(err)}); type a model name`);
      }
    })();
    return () => {
      stale = true;
    };
  }, [provider, providers, modelsAsked]);

  const variables = useMemo(() => templateVariables(messages.map((m) => m.content), format), [messages, format]);
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

  const parameters = (): Record<string, number> => {
    const out: Record<string, number> = {};
    if (temperature.trim()) {
      const t = Number(temperature);
      if (Number.isNaN(t)) throw new Error('Temperature must be a number');
      out.temperature = t;
    }
    if (maxTokens.trim()) {
      const n = Number(maxTokens);
      if (!Number.isInteger(n) || n < 1) throw new Error('Max tokens must be a positive integer');
      out.max_tokens = n;
    }
    return out;
  };

  const run = async () => {
    setRunError(undefined);
    setReply(null);
    setRunning(true);
    try {
      if (!provider) throw new Error('No provider plugin is enabled: upload one on the Plugins page.');
      if (!model.trim()) throw new Error('Choose or type a model.');
      const body = {
        provider,
        model: model.trim(),
        messages: messages.map((m) => ({ role: m.role, content: renderTemplate(m.content, format, values) })),
        invocation_parameters: parameters(),
      };
      const answer = await rest<ChatReply>('POST', '/v1/playground/chat', body);
      setReply(answer.data);
    } catch (err) {
      setRunError(err);
    } finally {
      setRunning(false);
    }
  };

  return (
    <div className="page pg-page">
      <div className="pg-header">
        <h1>Playground</h1>
        {loaded && (
          <span className="pg-muted">
            from prompt <Link to="/prompts">{loaded.prompt?.name ?? promptParam}</Link>{' '}
            <span className="pg-mono">{loaded.version.id}</span>
          </span>
        )}
      </div>
      {loadError !== undefined && <ErrorBox error={loadError} />}
      {plugins.error !== undefined && <ErrorBox error={plugins.error} />}

      <div className="pg-playground">
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

        <div className="pg-playground-right">
          <section className="pg-panel">
            <h2>Model</h2>
            <label className="pg-field">
              Provider
              <select
                data-testid="playground-provider"
                value={provider}
                onChange={(e) => {
                  userPicked.current = true;
                  if (e.target.value !== provider) setModel('');
                  setProvider(e.target.value);
                }}
              >
                {providers.length === 0 && (
                  <option value="">{plugins.loading ? 'loading…' : 'no enabled provider plugins'}</option>
                )}
                {providers.map((p) => (
                  <option key={p.name} value={p.name}>
                    {p.name}
                  </option>
                ))}
              </select>
            </label>
            <label className="pg-field">
              Model
              <input
                type="text"
                list="pg-model-list"
                data-testid="playground-model"
                value={model}
                placeholder="model name"
                onChange={(e) => setModel(e.target.value)}
              />
              <datalist id="pg-model-list">
                {models.map((m) => (
                  <option key={m} value={m} />
                ))}
              </datalist>
              <span className="pg-muted pg-small">
                {modelsNote}
                {provider && (
                  <>
                    {modelsNote ? ' · ' : ''}
                    <button
                      type="button"
                      className="pg-linkish"
                      data-testid="playground-list-models"
                      onClick={() => setModelsAsked((n) => n + 1)}
                    >
                      {models.length ? 'refresh models' : 'list models'}
                    </button>
                  </>
                )}
              </span>
            </label>
            <div className="pg-form-row">
              <label className="pg-field">
                Temperature
                <input
                  type="number"
                  step="0.1"
                  min="0"
                  max="2"
                  data-testid="playground-temperature"
                  value={temperature}
                  placeholder="default"
                  onChange={(e) => setTemperature(e.target.value)}
                />
              </label>
              <label className="pg-field">
                Max tokens
                <input
                  type="number"
                  step="1"
                  min="1"
                  data-testid="playground-max-tokens"
                  value={maxTokens}
                  placeholder="default"
                  onChange={(e) => setMaxTokens(e.target.value)}
                />
              </label>
            </div>
            <button
              type="button"
              className="btn btn-primary pg-wide"
              data-testid="playground-run"
              disabled={running}
              onClick={() => void run()}
            >
              {running ? 'Running…' : 'Run'}
            </button>
          </section>

          <Output running={running} reply={reply} error={runError} />
          <SavePrompt
            loaded={loaded}
            provider={provider}
            model={model}
            format={format}
            messages={messages}
            parameters={parameters}
          />
        </div>
      </div>
    </div>
  );
}

function Output({ running, reply, error }: { running: boolean; reply: ChatReply['data'] | null; error: unknown }) {
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
                ? `${formatInt(reply.usage.prompt_tokens)} prompt · ${formatInt(reply.usage.completion_tokens)} completion · ${formatInt(
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

function SavePrompt({
  loaded,
  provider,
  model,
  format,
  messages,
  parameters,
}: {
  loaded: Loaded | null;
  provider: string;
  model: string;
  format: string;
  messages: Message[];
  parameters: () => Record<string, number>;
}) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState<string | null>(null);
  const loadedName = loaded?.prompt?.name ?? '';
  useEffect(() => {
    if (loadedName) setName((n) => n || loadedName);
  }, [loadedName]);

  const save = async () => {
    setBusy(true);
    setError(undefined);
    setSaved(null);
    try {
      const upper = provider.toUpperCase();
      const modelProvider = MODEL_PROVIDERS.includes(upper) ? upper : (loaded?.version.model_provider ?? 'OPENAI');
      const kind = modelProvider.toLowerCase();
      const params: Record<string, number> = { ...parameters() };
      if (kind === 'google' && params.max_tokens !== undefined) {
        params.max_output_tokens = params.max_tokens;
        delete params.max_tokens;
      }
      if (kind === 'anthropic' && params.max_tokens === undefined) params.max_tokens = 1024;
      const body = {
        prompt: { name: name.trim(), ...(description.trim() ? { description: description.trim() } : {}) },
        version: {
          description: description.trim() || null,
          model_provider: modelProvider,
          model_name: model.trim(),
          template_type: 'CHAT',
          template_format: format,
          template: { type: 'chat', messages: messages.map((m) => ({ role: m.role, content: m.content })) },
          invocation_parameters: { type: kind, [kind]: params },
        },
      };
      const reply = await rest<{ data: PromptVersion }>('POST', '/v1/prompts', body);
      setSaved(reply.data.id);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="pg-panel">
      <h2>Save as prompt</h2>
      <div className="pg-form-row">
        <label className="pg-field pg-grow">
          Prompt name
          <input
            type="text"
            data-testid="playground-save-name"
            value={name}
            placeholder="lowercase-name"
            onChange={(e) => setName(e.target.value)}
          />
        </label>
      </div>
      <label className="pg-field">
        Version description
        <input type="text" value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <button
        type="button"
        className="btn"
        data-testid="playground-save"
        disabled={busy || !name.trim() || !model.trim()}
        onClick={() => void save()}
      >
        {busy ? 'Saving…' : loadedName && name.trim() === loadedName ? 'Save new version' : 'Save prompt'}
      </button>
      {saved && (
        <div className="pg-ok-text">
          Saved version <span className="pg-mono">{saved}</span>. <Link to="/prompts">See prompts</Link>
        </div>
      )}
      {error !== undefined && <div className="pg-error-text">{errorMessage(error)}</div>}
    </section>
  );
}
