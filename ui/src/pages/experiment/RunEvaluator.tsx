// The "Run evaluator" panel: pick an enabled evaluator plugin, optionally name the evaluation
// and configure it, and attach it to the experiment (which queues a job per run).
import { useMemo, useState } from 'react';
import { errorMessage, gql, rest } from '../../api';
import { useAsync } from '../../components/useAsync';
import { ErrorBox } from '../../components/ErrorBox';
import type { AttachedEvaluator } from '../lib/evaluation';
import { configKeys, exampleConfig, parseJsonObject } from './config';
import { PLUGINS } from './types';

/** Attaches an evaluator to `experimentId`; `onAttached` runs after the server accepted it. */
export function RunEvaluator({ experimentId, onAttached }: { experimentId: string; onAttached: () => Promise<void> }) {
  const plugins = useAsync(
    (signal) =>
      gql<{ plugins: { name: string; world: string; version: string; enabled: boolean }[] }>(PLUGINS, {}, { signal }),
    [],
  );
  const names = useMemo(() => {
    const out: string[] = [];
    for (const p of plugins.data?.plugins ?? []) {
      if (p.enabled && p.world === 'evaluator' && !out.includes(p.name)) out.push(p.name);
    }
    return out.sort();
  }, [plugins.data]);
  const [plugin, setPlugin] = useState('');
  const [config, setConfig] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [attached, setAttached] = useState<string | null>(null);
  const chosen = plugin && names.includes(plugin) ? plugin : (names[0] ?? '');
  const schema = useAsync(async (signal) => {
    if (!chosen) return null;
    const reply = await rest<{ data: { config_schema: unknown } }>(
      'GET',
      `/v1/plugins/${encodeURIComponent(chosen)}`,
      undefined,
      { signal },
    );
    return configKeys(reply.data.config_schema);
  }, [chosen]);

  const attach = async () => {
    setError(undefined);
    setAttached(null);
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = parseJsonObject(config, 'The configuration');
    } catch (err) {
      setError(err);
      return;
    }
    setBusy(true);
    try {
      const spec: Record<string, unknown> = { plugin: chosen };
      if (parsed) spec.config = parsed;
      if (name.trim()) spec.name = name.trim();
      const reply = await rest<{ data: AttachedEvaluator[] }>(
        'POST',
        `/v1/experiments/${encodeURIComponent(experimentId)}/evaluators`,
        { evaluators: [spec] },
      );
      setAttached((reply.data ?? []).map((e) => e.name).join(', ') || chosen);
      setName('');
      await onAttached();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="pg-section pg-panel pg-evaluator-panel">
      <h2>Run evaluator</h2>
      {plugins.error !== undefined && <ErrorBox error={plugins.error} />}
      <label className="pg-field">
        Evaluator plugin
        <select data-testid="evaluator-plugin" value={chosen} onChange={(e) => setPlugin(e.target.value)}>
          {names.length === 0 && <option value="">{plugins.loading ? 'loading…' : 'no enabled evaluator plugins'}</option>}
          {names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label className="pg-field">
        <span>
          Evaluation name <span className="pg-muted">(optional, default: the plugin name)</span>
        </span>
        <input type="text" value={name} placeholder={chosen} onChange={(e) => setName(e.target.value)} />
      </label>
      <label className="pg-field">
        <span>
          Configuration <span className="pg-muted">(optional JSON object)</span>
        </span>
        <textarea
          data-testid="evaluator-config"
          className="pg-mono"
          rows={3}
          value={config}
          placeholder={exampleConfig(schema.data)}
          onChange={(e) => setConfig(e.target.value)}
        />
        {schema.data && schema.data.length > 0 && (
          <span className="pg-small pg-muted" data-testid="evaluator-config-keys">
            keys:{' '}
            {schema.data.map((k, i) => (
              <span key={k.name} title={k.description}>
                {i > 0 ? ', ' : ''}
                <code>{k.name}</code>
                {k.type ? ` (${k.type}${k.default !== undefined ? ` = ${k.default}` : ''})` : ''}
              </span>
            ))}
          </span>
        )}
      </label>
      <div className="pg-form-row">
        <button
          type="button"
          className="btn btn-primary"
          data-testid="evaluator-attach"
          data-write=""
          disabled={busy || !chosen}
          onClick={() => void attach()}
        >
          {busy ? 'Attaching…' : 'Attach and run'}
        </button>
        {attached && <span className="pg-ok-text">Attached {attached}.</span>}
      </div>
      {error !== undefined && <div className="pg-error-text" data-testid="evaluator-error">{errorMessage(error)}</div>}
    </section>
  );
}
