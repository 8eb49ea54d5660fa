//! The built-in price table and model-name matching.
//!
//! Prices are list prices in USD per million tokens (prompt, completion) for the standard tier:
//! no batch, cache or long-context rates. Hosted open models cost what each host charges; the
//! entries here name the host's own model ids. Configuration overrides and extends the table.

use serde::Deserialize;
use std::collections::HashMap;

/// Price of one model, USD per million tokens.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Per million prompt (input) tokens.
    pub prompt: f64,
    /// Per million completion (output) tokens.
    pub completion: f64,
}

/// Built-in prices: model name (as providers spell it; matched after [`normalize`]), prompt,
/// completion.
const BUILTIN: &[(&str, f64, f64)] = &[
    // OpenAI
    ("gpt-5", 1.25, 10.0),
    ("gpt-5-mini", 0.25, 2.0),
    ("gpt-5-nano", 0.05, 0.40),
    ("gpt-4.1", 2.0, 8.0),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4o", 2.50, 10.0),
    ("gpt-4o-mini", 0.15, 0.60),
    ("chatgpt-4o", 5.0, 15.0),
    ("gpt-4-turbo", 10.0, 30.0),
    ("gpt-4", 30.0, 60.0),
    ("gpt-3.5-turbo", 0.50, 1.50),
    ("o1", 15.0, 60.0),
    ("o1-mini", 1.10, 4.40),
    ("o3", 2.0, 8.0),
    ("o3-mini", 1.10, 4.40),
    ("o4-mini", 1.10, 4.40),
    ("text-embedding-3-small", 0.02, 0.0),
    ("text-embedding-3-large", 0.13, 0.0),
    ("text-embedding-ada-002", 0.10, 0.0),
    // Anthropic
    ("claude-3-haiku", 0.25, 1.25),
    ("claude-3-sonnet", 3.0, 15.0),
    ("claude-3-opus", 15.0, 75.0),
    ("claude-3.5-haiku", 0.80, 4.0),
    ("claude-3.5-sonnet", 3.0, 15.0),
    ("claude-3.7-sonnet", 3.0, 15.0),
    ("claude-sonnet-4", 3.0, 15.0),
    ("claude-opus-4", 15.0, 75.0),
    ("claude-opus-4.1", 15.0, 75.0),
    ("claude-sonnet-4.5", 3.0, 15.0),
    ("claude-haiku-4.5", 1.0, 5.0),
    ("claude-opus-4.5", 5.0, 25.0),
    // Google
    ("gemini-1.5-flash", 0.075, 0.30),
    ("gemini-1.5-flash-8b", 0.0375, 0.15),
    ("gemini-1.5-pro", 1.25, 5.0),
    ("gemini-2.0-flash", 0.10, 0.40),
    ("gemini-2.0-flash-lite", 0.075, 0.30),
    ("gemini-2.5-flash", 0.30, 2.50),
    ("gemini-2.5-flash-lite", 0.10, 0.40),
    ("gemini-2.5-pro", 1.25, 10.0),
    // Mistral
    ("mistral-large", 2.0, 6.0),
    ("mistral-medium", 0.40, 2.0),
    ("mistral-small", 0.10, 0.30),
    ("codestral", 0.30, 0.90),
    ("ministral-8b", 0.10, 0.10),
    ("ministral-3b", 0.04, 0.04),
    ("open-mistral-nemo", 0.15, 0.15),
    ("pixtral-large", 2.0, 6.0),
    // Llama, by host: Groq, then Together AI (after its `meta-llama/` prefix).
    ("llama-3.3-70b-versatile", 0.59, 0.79),
    ("llama-3.1-8b-instant", 0.05, 0.08),
    ("llama-3.3-70b-instruct-turbo", 0.88, 0.88),
    ("meta-llama-3.1-8b-instruct-turbo", 0.18, 0.18),
    ("meta-llama-3.1-70b-instruct-turbo", 0.88, 0.88),
    ("meta-llama-3.1-405b-instruct-turbo", 3.50, 3.50),
];

/// Vendor prefixes of cloud model ids, e.g. Bedrock's `us.anthropic.claude-…`.
const VENDOR_PREFIXES: &[&str] = &["anthropic.", "meta.", "mistral.", "amazon.", "cohere.", "ai21."];

/// Prices keyed by normalized model name.
#[derive(Debug, Default)]
pub struct PriceTable(HashMap<String, Price>);

impl PriceTable {
    /// The built-in table with `overrides` (model name → price) replacing or adding entries.
    pub fn new(overrides: &HashMap<String, Price>) -> Self {
        let builtin = BUILTIN.iter().map(|&(name, prompt, completion)| (normalize(name), Price { prompt, completion }));
        let extra = overrides.iter().map(|(name, price)| (normalize(name), *price));
        Self(builtin.chain(extra).collect())
    }

    /// The price of `model`: an entry named like it, or like it without a version suffix (a date,
    /// `latest`, `preview`, …), so that `gpt-4o-2024-08-06` is `gpt-4o` but `gpt-4o-mini` and
    /// `gpt-4o-audio-preview` are not.
    pub fn lookup(&self, model: &str) -> Option<Price> {
        let name = normalize(model);
        let tokens: Vec<&str> = name.split('-').collect();
        (1..=tokens.len()).rev().find_map(|keep| {
            if !is_version_suffix(&tokens[keep..]) {
                return None;
            }
            self.0.get(&tokens[..keep].join("-")).copied()
        })
    }
}

/// Lower case, without any `provider/` path, cloud vendor prefix or `@…`/`:…` tag, with `.` and
/// `_` read as `-` (`claude-3.5-sonnet` is `claude-3-5-sonnet`).
pub fn normalize(model: &str) -> String {
    let mut name = model.trim().to_lowercase();
    if let Some(slash) = name.rfind('/') {
        name.drain(..=slash);
    }
    for prefix in VENDOR_PREFIXES {
        if let Some(at) = name.find(prefix) {
            name.drain(..at + prefix.len());
            break;
        }
    }
    if let Some(at) = name.find(['@', ':']) {
        name.truncate(at);
    }
    name.replace(['.', '_'], "-")
}

/// Whether dash-separated `tokens` only version a model: dates and build numbers (`2024-08-06`,
/// `preview-05-06`, `20241022`, `0125`, `001`), `latest`, `preview`, `exp`, `v2`. A one-digit
/// number is a model version (`claude-opus-4-5`), never a suffix; a two-digit one only counts
/// next to another number (a date's month or day).
fn is_version_suffix(tokens: &[&str]) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    tokens.iter().enumerate().all(|(i, t)| match t.len() {
        _ if matches!(*t, "latest" | "preview" | "exp") => true,
        _ if t.strip_prefix('v').is_some_and(digits) => true,
        n if !digits(t) || n < 2 => false,
        2 => (i > 0 && digits(tokens[i - 1])) || tokens.get(i + 1).is_some_and(|next| next.len() == 2 && digits(next)),
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(model: &str) -> Option<(f64, f64)> {
        PriceTable::new(&HashMap::new()).lookup(model).map(|p| (p.prompt, p.completion))
    }

    #[test]
    fn exact_and_dated_names() {
        assert_eq!(price("gpt-4o"), Some((2.50, 10.0)));
        assert_eq!(price("gpt-4o-2024-08-06"), Some((2.50, 10.0)));
        assert_eq!(price("GPT-4o-mini"), Some((0.15, 0.60)));
        assert_eq!(price("gpt-4o-mini-2024-07-18"), Some((0.15, 0.60)));
        assert_eq!(price("gpt-4.1-nano-2025-04-14"), Some((0.10, 0.40)));
        assert_eq!(price("gpt-3.5-turbo-0125"), Some((0.50, 1.50)));
        assert_eq!(price("gpt-4-0613"), Some((30.0, 60.0)));
        assert_eq!(price("o3-mini-2025-01-31"), Some((1.10, 4.40)));
        assert_eq!(price("o1"), Some((15.0, 60.0)));
        assert_eq!(price("chatgpt-4o-latest"), Some((5.0, 15.0)));
    }

    #[test]
    fn variants_do_not_borrow_a_base_price() {
        assert_eq!(price("gpt-4o-audio-preview"), None);
        assert_eq!(price("gpt-4-32k"), None);
        assert_eq!(price("gpt-3.5-turbo-instruct"), None);
        assert_eq!(price("o3-pro"), None);
        assert_eq!(price("gemini-2.0-flash-thinking"), None);
        // `-5` is a version, not a suffix: without its own entry this would cost 15/75.
        assert_eq!(price("claude-opus-4-5-20251101"), Some((5.0, 25.0)));
        assert_eq!(price("claude-opus-4-20250514"), Some((15.0, 75.0)));
        assert_eq!(price("claude-opus-4-9-20300101"), None);
        assert_eq!(price("gpt-4o-12"), None);
    }

    #[test]
    fn anthropic_spellings() {
        assert_eq!(price("claude-3-5-sonnet-20241022"), Some((3.0, 15.0)));
        assert_eq!(price("claude-3-5-haiku-latest"), Some((0.80, 4.0)));
        assert_eq!(price("anthropic/claude-3.5-sonnet"), Some((3.0, 15.0)));
        assert_eq!(price("us.anthropic.claude-3-7-sonnet-20250219-v1:0"), Some((3.0, 15.0)));
        assert_eq!(price("claude-3-5-sonnet-v2@20241022"), Some((3.0, 15.0)));
        assert_eq!(price("claude-sonnet-4-5-20250929"), Some((3.0, 15.0)));
        assert_eq!(price("claude-haiku-4-5"), Some((1.0, 5.0)));
    }

    #[test]
    fn google_mistral_llama() {
        assert_eq!(price("models/gemini-1.5-pro-002"), Some((1.25, 5.0)));
        assert_eq!(price("gemini-1.5-flash-8b"), Some((0.0375, 0.15)));
        assert_eq!(price("gemini-2.0-flash-001"), Some((0.10, 0.40)));
        assert_eq!(price("gemini-2.0-flash-lite"), Some((0.075, 0.30)));
        assert_eq!(price("gemini-2.5-pro-preview-05-06"), Some((1.25, 10.0)));
        assert_eq!(price("mistral-large-latest"), Some((2.0, 6.0)));
        assert_eq!(price("mistral-small-2503"), Some((0.10, 0.30)));
        assert_eq!(price("meta-llama/Llama-3.3-70B-Instruct-Turbo"), Some((0.88, 0.88)));
        assert_eq!(price("llama-3.3-70b-versatile"), Some((0.59, 0.79)));
        assert_eq!(price("llama-3.3-70b"), None);
    }

    #[test]
    fn overrides_replace_and_extend() {
        let overrides = HashMap::from([
            ("my-model".to_owned(), Price { prompt: 1.0, completion: 2.0 }),
            ("gpt-4o".to_owned(), Price { prompt: 2.0, completion: 8.0 }),
        ]);
        let table = PriceTable::new(&overrides);
        assert_eq!(table.lookup("my-model-2025-01-01"), Some(Price { prompt: 1.0, completion: 2.0 }));
        assert_eq!(table.lookup("gpt-4o"), Some(Price { prompt: 2.0, completion: 8.0 }));
        assert_eq!(table.lookup("gpt-4o-mini"), Some(Price { prompt: 0.15, completion: 0.60 }));
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize(" OpenAI/GPT-4.1 "), "gpt-4-1");
        assert_eq!(normalize("anthropic.claude-3-haiku-20240307-v1:0"), "claude-3-haiku-20240307-v1");
        assert_eq!(normalize("claude_3_haiku"), "claude-3-haiku");
    }
}
