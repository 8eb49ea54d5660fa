// keyword_coverage: an Ember evaluator written in JavaScript.
//
// Scores the fraction of required keywords (words or phrases) that appear in the output, matched
// as whole words, case-insensitively by default, any run of whitespace in a phrase matching any other.
//
// Keywords come from the example when it has them: `expected` as a JSON list of strings, or an
// object with a `keywords` list; otherwise from the plugin's config `keywords`.
// Config: {"keywords": ["refund", "30 days"], "threshold": 1.0, "case_sensitive": false}
// The label is `pass` when the coverage is at least `threshold`, `fail` otherwise.
//
// Built into a component with componentize-js (see build.sh). World-level exports are the
// module's exported functions; the `host` import is the module 'ember:plugin/host@0.1.0'.

import { log, config as hostConfig } from 'ember:plugin/host@0.1.0';

const NAME = 'keyword_coverage';
const VERSION = '0.1.0';

const CONFIG_SCHEMA = {
  type: 'object',
  properties: {
    keywords: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description: 'Keywords or phrases the output must contain, when the example gives none.',
    },
    threshold: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: 1,
      description: 'Coverage at or above which the label is `pass`.',
    },
    case_sensitive: { type: 'boolean', default: false },
  },
  additionalProperties: false,
};

// A plugin-error variant. componentize-js turns a thrown object into the `err` of the result.
const invalidInput = (msg) => ({ tag: 'invalid-input', val: msg });
const invalidConfig = (msg) => ({ tag: 'invalid-config', val: msg });

function isStringList(v) {
  return Array.isArray(v) && v.every((k) => typeof k === 'string');
}

function readConfig() {
  let cfg;
  try {
    cfg = JSON.parse(hostConfig() || '{}');
  } catch (e) {
    throw invalidConfig(`config is not JSON: ${e.message}`);
  }
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw invalidConfig('config must be a JSON object');
  }
  const unknown = Object.keys(cfg).filter((k) => !(k in CONFIG_SCHEMA.properties));
  if (unknown.length) throw invalidConfig(`unknown config keys: ${unknown.join(', ')}`);
  const { keywords = [], threshold = 1, case_sensitive: caseSensitive = false } = cfg;
  if (!isStringList(keywords)) throw invalidConfig('keywords must be a list of strings');
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw invalidConfig('threshold must be a number from 0 to 1');
  }
  if (typeof caseSensitive !== 'boolean') throw invalidConfig('case_sensitive must be a boolean');
  return { keywords, threshold, caseSensitive };
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text; // not JSON: take the text as it is
  }
}

// The text of the output: a JSON string is its text, an object with a single string field is
// that field, a number or boolean is its JSON text, null is empty.
function outputText(raw) {
  const v = parseJson(raw);
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && !Array.isArray(v)) {
    const values = Object.values(v);
    if (values.length === 1 && typeof values[0] === 'string') return values[0];
  }
  throw invalidInput('output must be text, a JSON string or an object with one string field');
}

// Keywords given by the example, or undefined when it gives none.
function exampleKeywords(expected) {
  if (expected === undefined || expected === null) return undefined;
  const v = parseJson(expected);
  if (isStringList(v)) return v;
  if (v && typeof v === 'object' && isStringList(v.keywords)) return v.keywords;
  return undefined;
}

// A letter or digit: the engine has no Unicode property escapes (\p{L}: StarlingMonkey is built
// without ICU), so a letter is a character with case, which covers Latin, Greek, Cyrillic, …
function isWordChar(ch) {
  return ch !== undefined && (/[0-9_]/.test(ch) || ch.toLowerCase() !== ch.toUpperCase());
}

function normalize(text, caseSensitive) {
  const t = text.replace(/\s+/g, ' ').trim();
  return caseSensitive ? t : t.toLowerCase();
}

// Whether `keyword` occurs in `text` (both normalized) as whole words: not preceded or followed
// by a letter or digit.
function containsWord(text, keyword) {
  for (let i = text.indexOf(keyword); i !== -1; i = text.indexOf(keyword, i + 1)) {
    const before = [...text.slice(Math.max(0, i - 2), i)].pop();
    const after = [...text.slice(i + keyword.length, i + keyword.length + 2)][0];
    if (!isWordChar(before) && !isWordChar(after)) return true;
  }
  return false;
}

export function describe() {
  return {
    name: NAME,
    version: VERSION,
    description: 'Fraction of required keywords or phrases that appear in the output',
    configSchema: JSON.stringify(CONFIG_SCHEMA),
  };
}

export function evaluate(input) {
  const { keywords: configured, threshold, caseSensitive } = readConfig();
  const fromExample = exampleKeywords(input.expected);
  const source = fromExample ? 'example' : 'config';
  // Dedupe, ignoring blanks.
  const keywords = [...new Set((fromExample ?? configured).map((k) => k.trim()).filter(Boolean))];
  if (keywords.length === 0) {
    throw invalidInput(
      'no keywords: give `expected` as a JSON list of strings, or set `keywords` in the config',
    );
  }
  const text = normalize(outputText(input.output), caseSensitive);

  const matched = [];
  const missing = [];
  for (const k of keywords) (containsWord(text, normalize(k, caseSensitive)) ? matched : missing).push(k);
  const coverage = matched.length / keywords.length;
  const label = coverage >= threshold ? 'pass' : 'fail';

  log('debug', `${NAME}: ${matched.length}/${keywords.length} keywords from ${source}, label=${label}`);

  const explanation =
    missing.length === 0
      ? `The output contains ${keywords.length === 1 ? 'the keyword' : `all ${keywords.length} keywords`}.`
      : `The output contains ${matched.length} of ${keywords.length} keywords; missing: ` +
        `${missing.map((k) => JSON.stringify(k)).join(', ')}.`;
  return [
    {
      name: NAME,
      score: coverage,
      label,
      explanation,
      metadata: JSON.stringify({ matched, missing, threshold, keyword_source: source }),
    },
  ];
}
