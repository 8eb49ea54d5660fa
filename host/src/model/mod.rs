//! The records the store keeps that several services build or read: the span ingestion produces
//! and the writer stores, and the prompt types (`prompt`).

pub mod prompt;

use std::sync::Arc;

/// One decoded, validated span with its OpenInference fields lifted into columns.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    /// Name of the project the span belongs to; resolved to an id by the writer.
    pub project: Arc<str>,
    /// Lowercase hex, 32 characters.
    pub trace_id: String,
    /// Lowercase hex, 16 characters.
    pub span_id: String,
    /// Lowercase hex, 16 characters, absent for a root span.
    pub parent_id: Option<String>,
    pub name: String,
    /// OpenInference span kind (`LLM`, `CHAIN`, …, `UNKNOWN`).
    pub span_kind: String,
    /// `OK`, `ERROR` or `UNSET`.
    pub status_code: &'static str,
    pub status_message: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub model_name: Option<String>,
    pub token_prompt: Option<i64>,
    pub token_completion: Option<i64>,
    pub token_total: Option<i64>,
    pub input_value: Option<String>,
    pub input_mime_type: Option<String>,
    pub output_value: Option<String>,
    pub output_mime_type: Option<String>,
    pub session_id: Option<String>,
    /// The attribute map as nested JSON text, less `input.*`/`output.*` (kept in their columns).
    pub attributes: String,
    /// Span events as a JSON array text: `[{"name", "timestamp_ns", "attributes"}]`.
    pub events: String,
}

impl SpanRecord {
    /// Wall-clock duration in milliseconds, never negative.
    pub fn latency_ms(&self) -> f64 {
        let nanos = self.end_ns.saturating_sub(self.start_ns).max(0);
        nanos as f64 / 1_000_000.0
    }

    /// Bytes of text the span carries: its size where there is no encoded request to measure
    /// (queue permits are counted in encoded bytes).
    pub fn text_bytes(&self) -> usize {
        let optional = [&self.input_value, &self.input_mime_type, &self.output_value, &self.output_mime_type];
        self.name.len()
            + self.status_message.len()
            + self.attributes.len()
            + self.events.len()
            + optional.iter().filter_map(|text| text.as_ref()).map(String::len).sum::<usize>()
    }
}
