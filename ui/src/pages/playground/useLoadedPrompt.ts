// The prompt version named in the playground's URL (?prompt=id[&version=id]).
import { useEffect, useRef, useState } from 'react';
import { rest } from '../../api';
import type { PromptItem, PromptVersion } from '../lib/prompt';
import type { Loaded } from './types';

/**
 * Loads the prompt's given version (else its latest) once per URL, and hands it to `apply` to
 * fill the editor.
 */
export function useLoadedPrompt(
  promptParam: string,
  versionParam: string,
  apply: (version: PromptVersion) => void,
): { loaded: Loaded | null; loadError: unknown } {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [loadError, setLoadError] = useState<unknown>(undefined);
  const applyRef = useRef(apply);
  applyRef.current = apply;

  useEffect(() => {
    if (!promptParam) return;
    let stale = false;
    const ctrl = new AbortController();
    const opts = { signal: ctrl.signal };
    (async () => {
      try {
        const path = versionParam
          ? `/v1/prompt_versions/${encodeURIComponent(versionParam)}`
          : `/v1/prompts/${encodeURIComponent(promptParam)}/latest`;
        const [version, list] = await Promise.all([
          rest<{ data: PromptVersion }>('GET', path, undefined, opts),
          rest<{ data: PromptItem[] }>('GET', '/v1/prompts?limit=1000', undefined, opts),
        ]);
        if (stale) return;
        const v = version.data;
        const prompt = list.data.find((p) => p.id === promptParam || p.name === promptParam) ?? null;
        setLoaded({ prompt, version: v });
        applyRef.current(v);
      } catch (err) {
        if (!stale) setLoadError(err);
      }
    })();
    return () => {
      stale = true;
      ctrl.abort();
    };
  }, [promptParam, versionParam]);

  return { loaded, loadError };
}
