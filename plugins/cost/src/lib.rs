//! `cost` span processor: prices LLM calls. For every span with a known model and token counts
//! it sets the OpenInference cost attributes `llm.cost.prompt`, `llm.cost.completion` and
//! `llm.cost.total` (USD). Other spans are left alone.
//!
//! Configuration adds or replaces prices: `{"prices": {"my-model": {"prompt": 1.0,
//! "completion": 2.0}}}` (USD per million tokens). Costs a client already reported
//! (`llm.cost.total`) are kept unless `"overwrite": true`.

pub mod prices;

use ember_plugin_sdk::span_processor::{Descriptor, PluginError, Span, SpanChange, SpanProcessor};
use prices::{Price, PriceTable};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap};

/// The plugin's name.
pub const NAME: &str = "cost";

/// Extra or replacement prices.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Model name → price (USD per million tokens); names match like the built-in ones.
    pub prices: HashMap<String, Price>,
    /// Replace costs the span already carries.
    pub overwrite: bool,
}

/// What pricing a batch produced.
#[derive(Debug, Default)]
pub struct Priced {
    /// One change per priced span.
    pub changes: Vec<SpanChange>,
    /// Models with token counts but no price, each once.
    pub unknown_models: BTreeSet<String>,
}

/// Prices every span of the batch that has a model and token counts (and, unless `overwrite`,
/// no cost yet).
pub fn price_spans(table: &PriceTable, spans: &[Span], overwrite: bool) -> Priced {
    let mut priced = Priced::default();
    let mut cache: HashMap<&str, Option<Price>> = HashMap::new();
    for (index, span) in spans.iter().enumerate() {
        let Some(model) = span.model_name.as_deref().filter(|m| !m.trim().is_empty()) else { continue };
        let Some((prompt, completion)) = token_counts(span) else { continue };
        if !overwrite && has_cost(span) {
            continue;
        }
        let Some(price) = *cache.entry(model).or_insert_with(|| table.lookup(model)) else {
            priced.unknown_models.insert(model.to_owned());
            continue;
        };
        let Ok(index) = u32::try_from(index) else { break };
        priced.changes.push(SpanChange::new(index).set(cost_attributes(price, prompt, completion)));
    }
    priced
}

/// Whether the span's attributes already hold `llm.cost.total`.
fn has_cost(span: &Span) -> bool {
    // Most spans carry no cost: skip parsing their attributes.
    if !span.attributes.contains("\"cost\"") {
        return false;
    }
    serde_json::from_str::<Value>(&span.attributes).is_ok_and(|a| !a["llm"]["cost"]["total"].is_null())
}

/// Prompt and completion tokens, when the span reports at least one (the other counting as 0).
fn token_counts(span: &Span) -> Option<(u64, u64)> {
    let count = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok());
    match (count(span.prompt_tokens), count(span.completion_tokens)) {
        (None, None) => None,
        (p, c) => Some((p.unwrap_or(0), c.unwrap_or(0))),
    }
}

/// The three cost attributes for these token counts.
fn cost_attributes(price: Price, prompt_tokens: u64, completion_tokens: u64) -> Map<String, Value> {
    let prompt = prompt_tokens as f64 * price.prompt / 1e6;
    let completion = completion_tokens as f64 * price.completion / 1e6;
    let mut attributes = Map::new();
    attributes.insert("llm.cost.prompt".into(), json!(round(prompt)));
    attributes.insert("llm.cost.completion".into(), json!(round(completion)));
    attributes.insert("llm.cost.total".into(), json!(round(prompt + completion)));
    attributes
}

/// Rounds to a millionth of a micro-dollar, dropping float noise (`0.0045000000000000005`).
fn round(usd: f64) -> f64 {
    (usd * 1e12).round() / 1e12
}

/// The plugin.
pub struct Cost;

impl SpanProcessor for Cost {
    fn describe() -> Descriptor {
        Descriptor::new(NAME, env!("CARGO_PKG_VERSION"), "Sets llm.cost.* (USD) from token counts and a price table")
            .config_schema(json!({
                "type": "object",
                "properties": {
                    "prices": {
                        "type": "object",
                        "description": "Model name → USD per million tokens; adds to or replaces the built-in table.",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["prompt", "completion"],
                            "properties": {"prompt": {"type": "number", "minimum": 0}, "completion": {"type": "number", "minimum": 0}},
                            "additionalProperties": false
                        }
                    },
                    "overwrite": {"type": "boolean", "default": false, "description": "Replace costs the span already carries."}
                },
                "additionalProperties": false
            }))
    }

    fn process(spans: Vec<Span>) -> Result<Vec<SpanChange>, PluginError> {
        let config: Config = ember_plugin_sdk::config()?;
        if let Some((name, _)) = config.prices.iter().find(|(_, p)| !(p.prompt >= 0.0 && p.completion >= 0.0)) {
            return Err(PluginError::invalid_config(format!("price of {name:?} must not be negative")));
        }
        let priced = price_spans(&PriceTable::new(&config.prices), &spans, config.overwrite);
        for model in &priced.unknown_models {
            ember_plugin_sdk::log::debug(format!("cost: no price for model {model:?}"));
        }
        Ok(priced.changes)
    }
}

ember_plugin_sdk::export_span_processor!(Cost);

#[cfg(test)]
mod tests {
    use super::*;

    fn span(model: Option<&str>, prompt: Option<i64>, completion: Option<i64>) -> Span {
        Span {
            project: "default".into(),
            trace_id: "0".repeat(32),
            span_id: "0".repeat(16),
            parent_id: None,
            name: "chat".into(),
            kind: "LLM".into(),
            status_code: "OK".into(),
            start_time_unix_nano: 0,
            end_time_unix_nano: 1,
            model_name: model.map(str::to_owned),
            model_provider: None,
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: None,
            attributes: "{}".into(),
        }
    }

    fn costs(change: &SpanChange) -> (f64, f64, f64) {
        let v: Value = serde_json::from_str(&change.set_attributes).unwrap();
        let get = |k: &str| v[k].as_f64().unwrap();
        (get("llm.cost.prompt"), get("llm.cost.completion"), get("llm.cost.total"))
    }

    fn close(a: (f64, f64, f64), b: (f64, f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-12 && (a.1 - b.1).abs() < 1e-12 && (a.2 - b.2).abs() < 1e-12
    }

    #[test]
    fn prices_known_models_only() {
        let table = PriceTable::new(&HashMap::new());
        let spans = [
            span(Some("gpt-4o-2024-08-06"), Some(1000), Some(500)),
            span(Some("gpt-4o-mini"), Some(1_000_000), Some(1_000_000)),
            span(Some("my-local-model"), Some(10), Some(10)),
            span(None, Some(10), Some(10)),
            span(Some("gpt-4o"), None, None),
            span(Some("my-local-model"), Some(5), Some(5)),
        ];
        let priced = price_spans(&table, &spans, false);
        assert_eq!(priced.changes.iter().map(|c| c.index).collect::<Vec<_>>(), [0, 1]);
        assert!(close(costs(&priced.changes[0]), (0.0025, 0.005, 0.0075)));
        assert_eq!(
            priced.changes[0].set_attributes,
            r#"{"llm.cost.completion":0.005,"llm.cost.prompt":0.0025,"llm.cost.total":0.0075}"#
        );
        // gpt-4o-mini at its own price, not gpt-4o's.
        assert!(close(costs(&priced.changes[1]), (0.15, 0.60, 0.75)));
        assert_eq!(priced.unknown_models.into_iter().collect::<Vec<_>>(), ["my-local-model"]);
        assert!(priced.changes[0].remove_attributes.is_empty());
    }

    #[test]
    fn one_sided_and_bad_counts() {
        let table = PriceTable::new(&HashMap::new());
        let priced = price_spans(&table, &[span(Some("text-embedding-3-small"), Some(1_000_000), None)], false);
        assert!(close(costs(&priced.changes[0]), (0.02, 0.0, 0.02)));
        let priced = price_spans(&table, &[span(Some("gpt-4o"), Some(-5), None)], false);
        assert!(priced.changes.is_empty());
    }

    #[test]
    fn configured_prices() {
        let config: Config =
            ember_plugin_sdk::parse_config(r#"{"prices": {"my-model": {"prompt": 1.0, "completion": 2.0}}}"#).unwrap();
        let priced = price_spans(
            &PriceTable::new(&config.prices),
            &[span(Some("my-model"), Some(500_000), Some(250_000))],
            false,
        );
        assert!(close(costs(&priced.changes[0]), (0.5, 0.5, 1.0)));
        assert!(ember_plugin_sdk::parse_config::<Config>(r#"{"prices": {"m": {"prompt": 1}}}"#).is_err());
    }

    #[test]
    fn reported_costs_are_kept_unless_overwritten() {
        let table = PriceTable::new(&HashMap::new());
        let mut reported = span(Some("gpt-4o"), Some(1000), Some(1000));
        reported.attributes = r#"{"llm": {"cost": {"total": 0.5}}}"#.into();
        let mut unrelated = span(Some("gpt-4o"), Some(1000), Some(1000));
        unrelated.attributes = r#"{"metadata": {"cost": "high"}}"#.into();
        let spans = [reported, unrelated];
        assert_eq!(price_spans(&table, &spans, false).changes.iter().map(|c| c.index).collect::<Vec<_>>(), [1]);
        assert_eq!(price_spans(&table, &spans, true).changes.len(), 2);
    }

    #[test]
    fn process_runs_natively() {
        ember_plugin_sdk::set_native_config(r#"{"prices": {"m": {"prompt": -1, "completion": 0}}}"#);
        assert!(matches!(Cost::process(vec![]), Err(PluginError::InvalidConfig(_))));
        ember_plugin_sdk::set_native_config("{}");
        let changes = Cost::process(vec![span(Some("claude-3-5-haiku-20241022"), Some(100), Some(100))]).unwrap();
        assert_eq!(changes.len(), 1);
    }
}
