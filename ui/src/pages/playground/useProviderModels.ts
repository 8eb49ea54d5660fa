// The provider plugin of the playground and the models it offers.
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage, rest } from '../../api';
import { configured, type Loaded, type ProviderPlugin } from './types';

/** What `useProviderModels` gives back. */
export interface ProviderModels {
  provider: string;
  /** The user picks a provider (the model is cleared when it changes). */
  pickProvider: (name: string) => void;
  models: string[];
  modelsNote: string | null;
  /** Asks the provider plugin for its models. */
  listModels: () => void;
}

/**
 * The provider: the loaded prompt's own when a plugin of that name exists (unless the user picked
 * one), else the one kept, else the first configured, else the first. Its models: its configured
 * list; else what the plugin answers, asked on load only for a provider an operator has configured
 * (an unconfigured one would fail against its vendor's real endpoint), and otherwise when the user
 * picks it or asks. An empty model is set to the first model listed.
 */
export function useProviderModels(
  providers: ProviderPlugin[],
  loaded: Loaded | null,
  model: string,
  setModel: (model: string) => void,
): ProviderModels {
  const [provider, setProvider] = useState('');
  const [models, setModels] = useState<string[]>([]);
  const [modelsNote, setModelsNote] = useState<string | null>(null);
  const [modelsAsked, setModelsAsked] = useState(0);
  const userPicked = useRef(false);
  const modelRef = useRef(model);
  modelRef.current = model;

  useEffect(() => {
    if (!providers.length) return;
    const wanted = loaded?.version.model_provider?.toLowerCase();
    const match = providers.find((p) => p.name.toLowerCase() === wanted);
    if (match && !userPicked.current) {
      // The prompt may load after the plugins, when a default provider is already chosen.
      if (match.name !== provider) setProvider(match.name);
      return;
    }
    if (provider && providers.some((p) => p.name === provider)) return;
    setProvider((providers.find(configured) ?? providers[0]).name);
  }, [providers, loaded, provider]);

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
    const ctrl = new AbortController();
    setModelsNote('listing models…');
    (async () => {
      try {
        const reply = await rest<{ data: string[] }>(
          'GET',
          `/v1/plugins/${encodeURIComponent(provider)}/models`,
          undefined,
          { signal: ctrl.signal },
        );
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
      ctrl.abort();
    };
  }, [provider, providers, modelsAsked, setModel]);

  const pickProvider = useCallback(
    (name: string) => {
      userPicked.current = true;
      if (name !== provider) setModel('');
      setProvider(name);
    },
    [provider, setModel],
  );
  const listModels = useCallback(() => setModelsAsked((n) => n + 1), []);

  return { provider, pickProvider, models, modelsNote, listModels };
}
