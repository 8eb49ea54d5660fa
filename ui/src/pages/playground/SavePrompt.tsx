// The playground's "Save as prompt" panel: the editor's messages, model and parameters as a new
// prompt, or a new version of the loaded one.
import { useEffect, useState } from 'react';
import { errorMessage, rest } from '../../api';
import { Link } from '../../router';
import type { PromptVersion } from '../lib/prompt';
import { MODEL_PROVIDERS, type Loaded, type Message } from './types';

/** Saves through POST /v1/prompts; `parameters` throws when the typed parameters are invalid. */
export function SavePrompt({
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
        data-write=""
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

