//! `pii` redactor: masks email addresses, phone numbers, payment card numbers (Luhn-checked), IP
//! addresses and secrets (API keys, tokens, JWTs, `Bearer` credentials, private keys) in span
//! text before it is stored, e.g. `mail ada@example.com` → `mail <EMAIL>`.
//!
//! It runs on every ingested span, so each field first gets a single cheap pass that rules kinds
//! out (no `@`, no email; under 13 digits, no card…), and the scans need no set-up (see
//! [`detect`]).

pub mod addresses;
pub mod detect;
pub mod numbers;
pub mod secrets;
pub mod validate;

use detect::{find, Hints, Kind};
use ember_plugin_sdk::redactor::{Descriptor, Field, PluginError, Redaction, Redactor};
use serde::Deserialize;
use serde_json::json;
use std::ops::Range;

/// The plugin's name.
pub const NAME: &str = "pii";

/// What to redact and what to write instead.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Kinds to redact: `secret`, `email`, `card`, `ip`, `phone` (default all).
    pub kinds: Vec<Kind>,
    /// Replacement; `{KIND}` becomes the kind in capitals (`EMAIL`), `{kind}` in lower case.
    pub replacement: String,
}

impl Default for Config {
    fn default() -> Self {
        Self { kinds: Kind::ALL.to_vec(), replacement: "<{KIND}>".into() }
    }
}

/// A configured redactor: the enabled kinds in precedence order and their replacements.
pub struct Rules {
    kinds: Vec<(Kind, String)>,
}

impl Rules {
    /// Rules for `config`.
    pub fn new(config: &Config) -> Self {
        let kinds = Kind::ALL
            .into_iter()
            .filter(|k| config.kinds.contains(k))
            .map(|k| (k, config.replacement.replace("{KIND}", &k.name().to_uppercase()).replace("{kind}", k.name())))
            .collect();
        Self { kinds }
    }

    /// `text` with every finding replaced, or `None` when nothing was found. Where findings of
    /// two kinds overlap, the kind listed first in [`Kind::ALL`] wins.
    pub fn redact(&self, text: &str) -> Option<String> {
        let hints = Hints::of(text);
        let mut taken: Vec<(Range<usize>, &str)> = Vec::new();
        for (kind, replacement) in &self.kinds {
            if !hints.may_contain(*kind) {
                continue;
            }
            for range in find(*kind, text) {
                if taken.iter().all(|(t, _)| t.end <= range.start || range.end <= t.start) {
                    taken.push((range, replacement));
                }
            }
        }
        if taken.is_empty() {
            return None;
        }
        taken.sort_by_key(|(range, _)| range.start);
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (range, replacement) in taken {
            out.push_str(&text[at..range.start]);
            out.push_str(replacement);
            at = range.end;
        }
        out.push_str(&text[at..]);
        Some(out)
    }

    /// Redactions for the fields that change.
    pub fn redact_fields(&self, fields: &[Field]) -> Vec<Redaction> {
        fields
            .iter()
            .enumerate()
            .filter_map(|(i, field)| {
                let value = self.redact(&field.value)?;
                Some(Redaction { field: u32::try_from(i).ok()?, value })
            })
            .collect()
    }
}

/// The plugin.
pub struct Pii;

impl Redactor for Pii {
    fn describe() -> Descriptor {
        Descriptor::new(
            NAME,
            env!("CARGO_PKG_VERSION"),
            "Masks emails, phone numbers, card numbers, IP addresses and secrets in spans",
        )
        .config_schema(json!({
            "type": "object",
            "properties": {
                "kinds": {
                    "type": "array",
                    "items": {"enum": ["secret", "email", "card", "ip", "phone"]},
                    "description": "Kinds to redact (default all)."
                },
                "replacement": {"type": "string", "default": "<{KIND}>",
                                "description": "Replacement text; {KIND} and {kind} name the kind."}
            },
            "additionalProperties": false
        }))
    }

    fn redact(fields: Vec<Field>) -> Result<Vec<Redaction>, PluginError> {
        let config: Config = ember_plugin_sdk::config()?;
        Ok(Rules::new(&config).redact_fields(&fields))
    }
}

ember_plugin_sdk::export_redactor!(Pii);

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> Option<String> {
        Rules::new(&Config::default()).redact(text)
    }

    #[test]
    fn redacts_each_kind() {
        assert_eq!(
            redact("Ada (ada@example.com, +44 20 7946 0958) paid with 4111-1111-1111-1111 from 10.1.2.3").as_deref(),
            Some("Ada (<EMAIL>, <PHONE>) paid with <CARD> from <IP>")
        );
        assert_eq!(
            redact("export OPENAI_API_KEY=sk-proj-abc123DEF456ghi789JKL012mno345").as_deref(),
            Some("export OPENAI_API_KEY=<SECRET>")
        );
        assert_eq!(
            redact("Authorization: Bearer abc123def456ghi789").as_deref(),
            Some("Authorization: Bearer <SECRET>")
        );
    }

    #[test]
    fn leaves_clean_text_alone() {
        for text in [
            "",
            "The answer is 42.",
            "Meeting on 2024-01-15 at 10:30:00, room 301, order #1234567812345678.",
            "Span took 1700000000123456789 ns; trace 4bf92f3577b34da6a3ce929d0e0e4736",
            "Card 4111 1111 1111 1112 fails the Luhn check.",
            "Use std::vector in version 1.2.3.",
        ] {
            assert_eq!(redact(text), None, "{text}");
        }
    }

    #[test]
    fn configuration() {
        let config: Config =
            ember_plugin_sdk::parse_config(r#"{"kinds": ["email"], "replacement": "[{kind} removed]"}"#).unwrap();
        let rules = Rules::new(&config);
        assert_eq!(rules.redact("ada@example.com 10.0.0.1").as_deref(), Some("[email removed] 10.0.0.1"));
        assert!(ember_plugin_sdk::parse_config::<Config>(r#"{"kinds": ["ssn"]}"#).is_err());
    }

    #[test]
    fn overlapping_findings_keep_the_stronger_kind() {
        // A JWT contains no email, but a secret next to an email must not be cut in two.
        assert_eq!(
            redact("token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefgh12 by bob@example.org").as_deref(),
            Some("token=<SECRET> by <EMAIL>")
        );
    }

    #[test]
    fn only_changed_fields_are_returned() {
        let field = |span, value: &str| Field { span, path: "input.value".into(), value: value.into() };
        let fields = [field(0, "hello"), field(0, "mail ada@example.com"), field(1, "nothing here")];
        let redactions = Rules::new(&Config::default()).redact_fields(&fields);
        assert_eq!(redactions.len(), 1);
        assert_eq!((redactions[0].field, redactions[0].value.as_str()), (1, "mail <EMAIL>"));
    }

    #[test]
    fn non_ascii_text_is_safe() {
        assert_eq!(
            redact("Grüße an jürgen@example.de — ☎ +49 30 1234567").as_deref(),
            Some("Grüße an <EMAIL> — ☎ <PHONE>")
        );
    }
}
