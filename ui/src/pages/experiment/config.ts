// The configuration of an evaluator to attach: the keys its plugin's JSON schema declares, an
// example built from them, and the parsing of what was typed.
import { errorMessage } from '../../api';

/** One top-level key of a plugin's config schema. */
export interface ConfigKey {
  name: string;
  type: string;
  default?: string;
  description: string;
}

/** The top-level properties of a plugin's config JSON schema (given as an object or as text). */
export function configKeys(schema: unknown): ConfigKey[] {
  let value = schema;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return [];
    }
  }
  const properties = (value as { properties?: Record<string, Record<string, unknown>> } | null)?.properties;
  if (!properties || typeof properties !== 'object') return [];
  return Object.entries(properties).map(([name, p]) => ({
    name,
    type: Array.isArray(p?.type) ? p.type.join('|') : typeof p?.type === 'string' ? p.type : '',
    default: p && 'default' in p ? JSON.stringify(p.default) : undefined,
    description: typeof p?.description === 'string' ? p.description : '',
  }));
}

/**
 * The config textarea's placeholder: a config the plugin accepts, made of the first schema key
 * that has a default (`{"case_insensitive": false}` for exact_match), else the empty `{}`.
 */
export function exampleConfig(keys: ConfigKey[] | null | undefined): string {
  const key = keys?.find((k) => k.default !== undefined);
  return key ? `{${JSON.stringify(key.name)}: ${key.default}}` : '{}';
}

/** Parses an optional JSON object typed by a user; throws with a readable message. */
export function parseJsonObject(text: string, what: string): Record<string, unknown> | undefined {
  if (!text.trim()) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} is not valid JSON: ${errorMessage(err)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}
