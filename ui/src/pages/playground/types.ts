// The playground's shapes: editor messages, provider plugins, the chat reply, and constants.
import type { PromptItem, PromptVersion } from '../lib/prompt';

/** The roles a message can take. */
export const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'];
/** Phoenix's model providers; a prompt saved with another provider plugin keeps its own. */
export const MODEL_PROVIDERS = [
  'OPENAI', 'AZURE_OPENAI', 'ANTHROPIC', 'GOOGLE', 'DEEPSEEK', 'XAI', 'OLLAMA', 'AWS', 'CEREBRAS', 'FIREWORKS',
  'GROQ', 'MOONSHOT', 'MINIMAX', 'PERPLEXITY', 'TOGETHER', 'ZAI', 'META',
];

/** One message in the editor; `key` is stable across edits and moves. */
export interface Message {
  key: number;
  role: string;
  content: string;
}

let nextKey = 1;
/** A new editor message with a fresh key. */
export const message = (role: string, content: string): Message => ({ key: nextKey++, role, content });

/** A provider plugin as the picker needs it. */
export interface ProviderPlugin {
  name: string;
  world: string;
  enabled: boolean;
  config: unknown;
}

/** The plugins, for the provider picker. */
export const PLUGINS = `query ProviderPlugins { plugins { name world enabled config } }`;

/** Whether an operator has given the plugin a configuration (an endpoint, models, …). */
export function configured(plugin: ProviderPlugin): boolean {
  const config = plugin.config;
  return !!config && typeof config === 'object' && Object.keys(config as object).length > 0;
}

/** The POST /v1/playground/chat reply. */
export interface ChatReply {
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

/** Where a loaded prompt came from, for saving a new version of it. */
export interface Loaded {
  prompt: PromptItem | null;
  version: PromptVersion;
}

/** The invocation parameters typed in the Model panel; throws with a readable message. */
export function invocationParameters(temperature: string, maxTokens: string): Record<string, number> {
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
}
