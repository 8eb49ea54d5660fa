//! Well-behaved control plugin: scores every example 1.0 and echoes the output back as the
//! explanation. Used to check that other calls still succeed next to the hostile plugins.

wit_bindgen::generate!({
    path: "../../../wit",
    world: "ember:plugin/evaluator",
});

use ember::plugin::host::{log, LogLevel};

struct PoliteEcho;

impl Guest for PoliteEcho {
    fn describe() -> Descriptor {
        Descriptor {
            name: "polite_echo".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Control plugin: score 1.0, explanation = the output JSON text".into(),
            config_schema: None,
        }
    }

    fn evaluate(input: EvalInput) -> Result<Vec<Score>, PluginError> {
        log(LogLevel::Info, "polite_echo: scoring one example");
        Ok(vec![Score {
            name: "polite_echo".into(),
            score: Some(1.0),
            label: Some("echo".into()),
            explanation: Some(input.output),
            metadata: None,
        }])
    }
}

export!(PoliteEcho);
