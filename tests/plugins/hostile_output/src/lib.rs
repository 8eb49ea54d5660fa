//! Hostile: `evaluate` returns an enormous result, to hit the host's cap on a call's output.
//!
//! By default it returns one score whose explanation is 32 MiB of ASCII text. The string is built
//! in place (a few `memory.copy` doublings, so little fuel) and handed to the canonical ABI
//! without a copy, so the call needs about 33 MiB of guest memory: it fits a 64 MiB memory limit
//! and so reaches the output cap instead of the memory limit. (64 MiB of text cannot fit a 64 MiB
//! limit: that call ends with out-of-memory.) The plugin's configuration can change the shape, so
//! a test can fit the host's limits:
//!
//! * `{"explanation_bytes": N}`: one score with an N-byte explanation;
//! * `{"scores": N}`: N small scores, with no long explanation unless `explanation_bytes` is also
//!   given. Each costs about 150 bytes of guest memory (the Rust records, then the lowered list),
//!   so 200,000 fit a 64 MiB limit; 1,000,000 need about 160 MiB.
//!
//! The host must end the call with its output-too-large error.

wit_bindgen::generate!({
    path: "../../../wit",
    world: "ember:plugin/evaluator",
});

use ember::plugin::host::config;

const DEFAULT_EXPLANATION_BYTES: u64 = 32 << 20;
const PATTERN: &[u8] = b"hostile output, ";

/// The unsigned integer following `"key":` in a flat JSON object, if any.
fn config_u64(json: &str, key: &str) -> Option<u64> {
    let quoted = format!("\"{key}\"");
    let rest = &json[json.find(&quoted)? + quoted.len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

struct HostileOutput;

impl Guest for HostileOutput {
    fn describe() -> Descriptor {
        Descriptor {
            name: "hostile_output".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Hostile: evaluate returns an enormous result (expect output-too-large)"
                .into(),
            config_schema: Some(
                r#"{"type":"object","properties":{"explanation_bytes":{"type":"integer","minimum":0},"scores":{"type":"integer","minimum":1}}}"#
                    .into(),
            ),
        }
    }

    fn evaluate(_input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let cfg = config();
        let scores = config_u64(&cfg, "scores");
        let explanation_bytes = config_u64(&cfg, "explanation_bytes").unwrap_or(if scores.is_some() {
            0
        } else {
            DEFAULT_EXPLANATION_BYTES
        }) as usize;
        let scores = scores.unwrap_or(1).max(1) as usize;

        let mut result = Vec::with_capacity(scores);
        for i in 0..scores {
            let explanation = if i == 0 && explanation_bytes > 0 {
                let mut text = Vec::with_capacity(explanation_bytes);
                text.extend_from_slice(&PATTERN[..PATTERN.len().min(explanation_bytes)]);
                while text.len() < explanation_bytes {
                    let n = text.len().min(explanation_bytes - text.len());
                    text.extend_from_within(..n);
                }
                // SAFETY: `text` holds only ASCII bytes.
                Some(unsafe { String::from_utf8_unchecked(text) })
            } else {
                None
            };
            result.push(Score {
                name: "hostile_output".into(),
                score: Some(0.5),
                label: None,
                explanation,
                metadata: None,
            });
        }
        Ok(result)
    }
}

export!(HostileOutput);
