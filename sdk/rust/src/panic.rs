//! Panics become a log line before the trap: with `panic = "abort"` on wasm the message would
//! otherwise be lost, and the host would only report an `unreachable` trap.

/// Installs the hook once per instance (each call runs in a fresh one). Does nothing natively, so
/// unit tests keep the test harness's own hook.
pub(crate) fn report_panics() {
    #[cfg(target_family = "wasm")]
    {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            std::panic::set_hook(Box::new(|info| crate::log::error(format!("panic: {info}"))));
        });
    }
}
