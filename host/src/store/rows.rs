//! Rows returned by read queries.

/// One stored span, with its JSON columns as text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SpanRow {
    pub id: i64,
    pub project_id: i64,
    pub trace_id: String,
    pub span_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub span_kind: String,
    pub status_code: String,
    pub status_message: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub latency_ms: f64,
    pub model_name: Option<String>,
    pub token_prompt: Option<i64>,
    pub token_completion: Option<i64>,
    pub token_total: Option<i64>,
    pub input_value: Option<String>,
    pub input_mime_type: Option<String>,
    pub output_value: Option<String>,
    pub output_mime_type: Option<String>,
    pub session_id: Option<String>,
    pub attributes: String,
    pub events: String,
}

/// One trace with the token counts summed over its spans.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TraceRow {
    pub id: i64,
    pub trace_id: String,
    pub project_id: i64,
    pub session_id: Option<String>,
    pub start_ns: i64,
    pub end_ns: i64,
    pub token_prompt: Option<i64>,
    pub token_completion: Option<i64>,
    pub token_total: Option<i64>,
}

/// One session with the token counts summed over its traces' spans.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub session_id: String,
    pub project_id: i64,
    pub start_ns: i64,
    pub end_ns: i64,
    pub token_prompt: Option<i64>,
    pub token_completion: Option<i64>,
    pub token_total: Option<i64>,
}

/// Columns of `SpanRow`, with JSONB read back as text on PostgreSQL.
pub(crate) fn span_columns(dialect: super::Dialect) -> &'static str {
    match dialect {
        super::Dialect::Sqlite => {
            "id, project_id, trace_id, span_id, parent_id, name, span_kind, status_code, status_message, \
             start_ns, end_ns, latency_ms, model_name, token_prompt, token_completion, token_total, \
             input_value, input_mime_type, output_value, output_mime_type, session_id, attributes, events"
        }
        super::Dialect::Postgres => {
            "id, project_id, trace_id, span_id, parent_id, name, span_kind, status_code, status_message, \
             start_ns, end_ns, latency_ms, model_name, token_prompt, token_completion, token_total, \
             input_value, input_mime_type, output_value, output_mime_type, session_id, \
             attributes::text AS attributes, events::text AS events"
        }
    }
}
