//! `max_length` evaluator: is the output at most `max_chars` characters long?

use ember_plugin_sdk::evaluator::{Descriptor, EvalInput, Evaluator, PluginError, Score};
use serde::Deserialize;

/// The score's name and the plugin's.
const NAME: &str = "max_length";

/// The plugin's configuration, e.g. `{"max_chars": 280}`.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    max_chars: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self { max_chars: 280 }
    }
}

/// The scoring itself: a pure function, so tests need no host.
fn score(config: &Config, input: &EvalInput) -> Score {
    let chars = input.output_text().chars().count();
    let ok = chars <= config.max_chars;
    Score::new(NAME)
        .score(if ok { 1.0 } else { 0.0 })
        .label(if ok { "ok" } else { "too_long" })
        .explanation(format!("{chars} characters, at most {} allowed", config.max_chars))
}

struct MaxLength;

impl Evaluator for MaxLength {
    fn describe() -> Descriptor {
        Descriptor::new(NAME, env!("CARGO_PKG_VERSION"), "Is the output short enough?")
    }

    fn evaluate(input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let config: Config = ember_plugin_sdk::config()?;
        ember_plugin_sdk::log::debug(format!("max_chars = {}", config.max_chars));
        Ok(vec![score(&config, &input)])
    }
}

ember_plugin_sdk::export_evaluator!(MaxLength);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_outputs() {
        let config = Config { max_chars: 5 };
        let short = EvalInput::new(r#""q""#, r#""hello""#, None);
        assert_eq!(score(&config, &short).score, Some(1.0));
        let long = EvalInput::new(r#""q""#, r#""hello!""#, None);
        assert_eq!(score(&config, &long).label.as_deref(), Some("too_long"));
    }

    #[test]
    fn evaluate_reads_the_configuration() {
        ember_plugin_sdk::set_native_config(r#"{"max_chars": 1}"#);
        let scores = MaxLength::evaluate(EvalInput::new(r#""q""#, r#""hi""#, None)).unwrap();
        assert_eq!(scores[0].score, Some(0.0));
    }
}
