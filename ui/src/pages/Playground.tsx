// /playground[?prompt=id[&version=id]]: chat messages with {{variables}}, a provider plugin and
// model, run through POST /v1/playground/chat (recorded as a span), and saved as a prompt version.
// The panels live in ./playground/.
import { useCallback, useMemo, useState } from 'react';
import { gql, rest } from '../api';
import { Link, useSearch } from '../router';
import { useAsync } from '../components/useAsync';
import { ErrorBox } from '../components/ErrorBox';
import { invocationParams, renderTemplate, templateMessages, templateVariables, type PromptVersion } from './lib/prompt';
import { PLUGINS, invocationParameters, message, type ChatReply, type Message, type ProviderPlugin } from './playground/types';
import { useLoadedPrompt } from './playground/useLoadedPrompt';
import { useProviderModels } from './playground/useProviderModels';
import { MessagesEditor } from './playground/MessagesEditor';
import { ModelPanel } from './playground/ModelPanel';
import { Output } from './playground/Output';
import { SavePrompt } from './playground/SavePrompt';
import './pages.css';

export default function PlaygroundPage(_props: { params: Record<string, string> }) {
  const search = useSearch();
  const promptParam = search.get('prompt') ?? '';
  const versionParam = search.get('version') ?? '';

  const plugins = useAsync((signal) => gql<{ plugins: ProviderPlugin[] }>(PLUGINS, {}, { signal }), []);
  const providers = useMemo(() => {
    const seen = new Map<string, ProviderPlugin>();
    for (const p of plugins.data?.plugins ?? []) if (p.enabled && p.world === 'provider') seen.set(p.name, p);
    return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
  }, [plugins.data]);

  const [messages, setMessages] = useState<Message[]>(() => [message('user', '')]);
  const [format, setFormat] = useState('MUSTACHE');
  const [values, setValues] = useState<Record<string, string>>({});
  const [model, setModel] = useState('');
  const [temperature, setTemperature] = useState('');
  const [maxTokens, setMaxTokens] = useState('');
  const [running, setRunning] = useState(false);
  const [reply, setReply] = useState<ChatReply['data'] | null>(null);
  const [runError, setRunError] = useState<unknown>(undefined);

  // A prompt named in the URL fills the editor once.
  const fillEditor = useCallback((v: PromptVersion) => {
    const ms = templateMessages(v.template);
    setMessages(ms.length ? ms.map((m) => message(m.role, m.content)) : [message('user', '')]);
    setFormat(v.template_format || 'MUSTACHE');
    setModel(v.model_name ?? '');
    const params = invocationParams(v.invocation_parameters);
    if (typeof params.temperature === 'number') setTemperature(String(params.temperature));
    const tokens = params.max_tokens ?? params.max_completion_tokens ?? params.max_output_tokens;
    if (typeof tokens === 'number') setMaxTokens(String(tokens));
  }, []);
  const { loaded, loadError } = useLoadedPrompt(promptParam, versionParam, fillEditor);
  const { provider, pickProvider, models, modelsNote, listModels } = useProviderModels(providers, loaded, model, setModel);

  const variables = useMemo(() => templateVariables(messages.map((m) => m.content), format), [messages, format]);
  const parameters = () => invocationParameters(temperature, maxTokens);

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
        <MessagesEditor
          messages={messages}
          setMessages={setMessages}
          format={format}
          setFormat={setFormat}
          variables={variables}
          values={values}
          setValues={setValues}
        />

        <div className="pg-playground-right">
          <ModelPanel
            providers={providers}
            providersLoading={plugins.loading}
            provider={provider}
            onPickProvider={pickProvider}
            model={model}
            setModel={setModel}
            models={models}
            modelsNote={modelsNote}
            onListModels={listModels}
            temperature={temperature}
            setTemperature={setTemperature}
            maxTokens={maxTokens}
            setMaxTokens={setMaxTokens}
            running={running}
            onRun={() => void run()}
          />
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
