//! Hostile: `evaluate` panics. With `panic = "abort"` on wasm32-unknown-unknown the panic ends in
//! an `unreachable` instruction, i.e. a trap. Before that, a panic hook copies the panic message
//! into the call's log through the `host.log` import (error level), so the host can show why.
//!
//! The host must end the call with a trap (wasm `unreachable`), not a plugin error; the call's log
//! holds "hostile plugin panicked on purpose".

wit_bindgen::generate!({
    path: "../../../wit",
    world: "ember:plugin/evaluator",
});

use ember::plugin::host::{log, LogLevel};

struct HostilePanic;

impl Guest for HostilePanic {
    fn describe() -> Descriptor {
        Descriptor {
            name: "hostile_panic".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Hostile: evaluate panics (expect a trap)".into(),
            config_schema: None,
        }
    }

    fn evaluate(_input: EvalInput) -> Result<Vec<Score>, PluginError> {
        std::panic::set_hook(Box::new(|info| log(LogLevel::Error, &info.to_string())));
        panic!("hostile plugin panicked on purpose");
    }
}

export!(HostilePanic);
