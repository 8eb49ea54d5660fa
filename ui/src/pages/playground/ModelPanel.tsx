// The playground's Model panel: provider plugin, model (typed or picked from the provider's list),
// temperature, max tokens, and the Run button.
import type { ProviderPlugin } from './types';

/** The model settings of a run; all state is the page's. */
export function ModelPanel({
  providers,
  providersLoading,
  provider,
  onPickProvider,
  model,
  setModel,
  models,
  modelsNote,
  onListModels,
  temperature,
  setTemperature,
  maxTokens,
  setMaxTokens,
  running,
  onRun,
}: {
  /** enabled provider plugins, by name */
  providers: ProviderPlugin[];
  providersLoading: boolean;
  provider: string;
  onPickProvider: (name: string) => void;
  model: string;
  setModel: (model: string) => void;
  /** the provider's models, offered as suggestions */
  models: string[];
  /** a hint next to the model ("listing models…") */
  modelsNote: string | null;
  onListModels: () => void;
  temperature: string;
  setTemperature: (value: string) => void;
  maxTokens: string;
  setMaxTokens: (value: string) => void;
  running: boolean;
  onRun: () => void;
}) {
  return (
      <section className="pg-panel">
        <h2>Model</h2>
        <label className="pg-field">
          Provider
          <select
            data-testid="playground-provider"
            value={provider}
            onChange={(e) => onPickProvider(e.target.value)}
          >
            {providers.length === 0 && (
              <option value="">{providersLoading ? 'loading…' : 'no enabled provider plugins'}</option>
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
                  onClick={onListModels}
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
          data-write=""
          disabled={running}
          onClick={onRun}
        >
          {running ? 'Running…' : 'Run'}
        </button>
      </section>
  );
}
