//! Logging through the host's `log` import: lines land in the call's log and the server's tracing
//! output. Outside the sandbox (unit tests) they go to stderr.

/// Severity of a log line, mirroring the WIT `log-level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Very detailed diagnostics.
    Trace,
    /// Diagnostics useful while developing a plugin.
    Debug,
    /// Normal operation worth noting.
    Info,
    /// Something unexpected that the plugin recovered from.
    Warn,
    /// A failure.
    Error,
}

/// Appends `message` to this call's log at `level`.
pub fn log(level: Level, message: impl AsRef<str>) {
    crate::host::log(level, message.as_ref());
}

/// Logs at [`Level::Trace`].
pub fn trace(message: impl AsRef<str>) {
    log(Level::Trace, message);
}

/// Logs at [`Level::Debug`].
pub fn debug(message: impl AsRef<str>) {
    log(Level::Debug, message);
}

/// Logs at [`Level::Info`].
pub fn info(message: impl AsRef<str>) {
    log(Level::Info, message);
}

/// Logs at [`Level::Warn`].
pub fn warn(message: impl AsRef<str>) {
    log(Level::Warn, message);
}

/// Logs at [`Level::Error`].
pub fn error(message: impl AsRef<str>) {
    log(Level::Error, message);
}
