//! The log's writer: stderr, where a line that cannot be written is dropped and counted.
//!
//! tracing-subscriber's fmt layer reports a failed write with `eprintln!`, and `eprintln!` panics
//! when stderr itself fails: with the log on a full disk, whichever task logged (the span writer,
//! say) died with "failed printing to stderr". This writer never reports a failure, so logging
//! never panics; `ember_log_lines_dropped_total` counts what was lost.

use std::io::Write;
use std::sync::LazyLock;

use prometheus_client::metrics::counter::Counter;

/// Log writes that failed (a full disk, a closed pipe) and were dropped.
pub static DROPPED_LINES: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Stderr that drops what it cannot write.
#[derive(Debug, Clone, Copy, Default)]
pub struct LossyStderr;

impl Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::io::stderr().lock().write_all(buf).is_err() {
            DROPPED_LINES.inc();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LossyStderr {
    type Writer = LossyStderr;

    fn make_writer(&'a self) -> Self::Writer {
        LossyStderr
    }
}
