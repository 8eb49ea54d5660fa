//! The `host` import (`log`, `config`), taken from whichever world's bindings are compiled in.
//! Every world imports the same `ember:plugin/host` interface, so any of them will do; outside the
//! sandbox the functions are stand-ins so that plugin logic can be unit-tested natively.

use crate::log::Level;

#[cfg(target_arch = "wasm32")]
mod imports {
    #[cfg(feature = "evaluator")]
    pub use crate::evaluator::bindings::ember::plugin::host::*;
    #[cfg(all(
        feature = "provider",
        not(any(feature = "evaluator", feature = "span-processor", feature = "redactor"))
    ))]
    pub use crate::provider::bindings::ember::plugin::host::*;
    #[cfg(all(feature = "redactor", not(any(feature = "evaluator", feature = "span-processor"))))]
    pub use crate::redactor::bindings::ember::plugin::host::*;
    #[cfg(all(feature = "span-processor", not(feature = "evaluator")))]
    pub use crate::span_processor::bindings::ember::plugin::host::*;
}

#[cfg(all(
    target_arch = "wasm32",
    any(feature = "evaluator", feature = "span-processor", feature = "redactor", feature = "provider")
))]
pub(crate) fn log(level: Level, message: &str) {
    use imports::LogLevel;
    let level = match level {
        Level::Trace => LogLevel::Trace,
        Level::Debug => LogLevel::Debug,
        Level::Info => LogLevel::Info,
        Level::Warn => LogLevel::Warn,
        Level::Error => LogLevel::Error,
    };
    imports::log(level, message);
}

#[cfg(all(
    target_arch = "wasm32",
    any(feature = "evaluator", feature = "span-processor", feature = "redactor", feature = "provider")
))]
pub(crate) fn config() -> String {
    imports::config()
}

// A wasm build without a world has no host to talk to (and no exports either).
#[cfg(all(
    target_arch = "wasm32",
    not(any(feature = "evaluator", feature = "span-processor", feature = "redactor", feature = "provider"))
))]
pub(crate) fn log(_level: Level, _message: &str) {}

#[cfg(all(
    target_arch = "wasm32",
    not(any(feature = "evaluator", feature = "span-processor", feature = "redactor", feature = "provider"))
))]
pub(crate) fn config() -> String {
    "{}".to_owned()
}

#[cfg(not(target_arch = "wasm32"))]
thread_local! {
    /// What `config()` returns natively; set by `set_native_config`.
    pub(crate) static NATIVE_CONFIG: std::cell::RefCell<String> = std::cell::RefCell::new("{}".to_owned());
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn log(level: Level, message: &str) {
    eprintln!("[{level:?}] {message}");
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn config() -> String {
    NATIVE_CONFIG.with(|c| c.borrow().clone())
}
