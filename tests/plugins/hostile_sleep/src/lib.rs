//! Hostile sleeper, built for `wasm32-wasip2`: `evaluate` sleeps for an hour through WASI's
//! monotonic-clock timers. Epoch interruption cannot stop a guest blocked inside a host call, so
//! the host must refuse timers: the call ends with capability-denied, at once.

wit_bindgen::generate!({
    path: "../../../wit",
    world: "ember:plugin/evaluator",
});

struct HostileSleep;

impl Guest for HostileSleep {
    fn describe() -> Descriptor {
        Descriptor {
            name: "hostile_sleep".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Hostile: sleeps for an hour through WASI timers (expect capability-denied)".into(),
            config_schema: None,
        }
    }

    fn evaluate(_input: EvalInput) -> Result<Vec<Score>, PluginError> {
        std::thread::sleep(std::time::Duration::from_secs(3600));
        Ok(vec![Score {
            name: "hostile_sleep".into(),
            score: Some(1.0),
            label: Some("woke up".into()),
            explanation: None,
            metadata: None,
        }])
    }
}

export!(HostileSleep);
