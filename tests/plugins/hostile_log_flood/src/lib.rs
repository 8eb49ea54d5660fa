//! Hostile: `evaluate` floods the call's log: it calls `host.log` 1,000,000 times with 1 KiB
//! lines (configurable with `{"lines": N}`), then returns a normal score 1.0 whose metadata says
//! how many lines were sent. The line is one ASCII buffer rewritten in place (only its counter
//! changes), so the guest spends little fuel per call and the cost lies with the host.
//!
//! The host must keep only its bounded share of the log (counting the rest) and the call must
//! succeed.

wit_bindgen::generate!({
    path: "../../../wit",
    world: "ember:plugin/evaluator",
});

use ember::plugin::host::{config, log, LogLevel};

const DEFAULT_LINES: u64 = 1_000_000;
const LINE_BYTES: usize = 1024;
const PREFIX: &[u8] = b"hostile_log_flood line ";
const DIGITS: usize = 10;

/// The unsigned integer following `"key":` in a flat JSON object, if any.
fn config_u64(json: &str, key: &str) -> Option<u64> {
    let quoted = format!("\"{key}\"");
    let rest = &json[json.find(&quoted)? + quoted.len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

struct HostileLogFlood;

impl Guest for HostileLogFlood {
    fn describe() -> Descriptor {
        Descriptor {
            name: "hostile_log_flood".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Hostile: evaluate logs a million 1 KiB lines, then scores 1.0 \
                          (expect a capped log and success)"
                .into(),
            config_schema: Some(r#"{"type":"object","properties":{"lines":{"type":"integer","minimum":0}}}"#.into()),
        }
    }

    fn evaluate(_input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let lines = config_u64(&config(), "lines").unwrap_or(DEFAULT_LINES);

        let mut line = [b'x'; LINE_BYTES];
        line[..PREFIX.len()].copy_from_slice(PREFIX);
        line[PREFIX.len()..PREFIX.len() + DIGITS].fill(b'0');
        line[PREFIX.len() + DIGITS] = b' ';
        for _ in 0..lines {
            // SAFETY: `line` holds only ASCII bytes.
            log(LogLevel::Info, unsafe { core::str::from_utf8_unchecked(&line) });
            // Odometer increment of the decimal counter: usually one digit changes.
            for digit in line[PREFIX.len()..PREFIX.len() + DIGITS].iter_mut().rev() {
                if *digit == b'9' {
                    *digit = b'0';
                } else {
                    *digit += 1;
                    break;
                }
            }
        }

        Ok(vec![Score {
            name: "hostile_log_flood".into(),
            score: Some(1.0),
            label: Some("flooded".into()),
            explanation: Some(format!("sent {lines} log lines of {LINE_BYTES} bytes")),
            metadata: Some(format!(r#"{{"lines_sent":{lines},"line_bytes":{LINE_BYTES}}}"#)),
        }])
    }
}

export!(HostileLogFlood);
