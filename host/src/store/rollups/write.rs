//! Rollup rows: built from a batch's new spans, encoded for storage and decoded again.

use sketches_ddsketch::DDSketch;

use super::traces::{add_trace_span, TraceSums};
use super::{add_span, cost_of, Buckets, Rollup, SpanFacts};
use crate::model::SpanRecord;
use crate::store::sql::{Dialect, Param, Sql};
use crate::store::{Result, StoreError};

/// The columns of a rollup row after `id`, in the order [`insert_rollups`] binds them.
pub(crate) const ROLLUP_COLUMNS: &str = "project_id, bucket_ns, span_count, error_count, root_count, \
     token_prompt, token_completion, cost_total, last_start_ns, models, latency";

/// A rollup row as read back: [`ROLLUP_COLUMNS`] in order.
pub(crate) type RollupRow = (i64, i64, i64, i64, i64, i64, i64, f64, i64, String, Vec<u8>);

/// What a rollup needs of a span record.
pub(crate) fn facts_of(span: &SpanRecord) -> SpanFacts<'_> {
    let is_llm = span.span_kind == "LLM";
    SpanFacts {
        start_ns: span.start_ns,
        is_error: span.status_code == "ERROR",
        is_root: span.parent_id.is_none(),
        is_llm,
        latency_ms: span.latency_ms(),
        model_name: span.model_name.as_deref(),
        token_prompt: span.token_prompt,
        token_completion: span.token_completion,
        cost_total: if is_llm { cost_of(&span.attributes) } else { None },
    }
}

/// Rollups of a batch's newly stored spans, each with its project's id.
pub(crate) fn batch_rollups<'a>(spans: impl Iterator<Item = (&'a SpanRecord, i64)>) -> Buckets {
    let mut buckets = Buckets::new();
    for (span, project_id) in spans {
        add_span(&mut buckets, project_id, &facts_of(span));
    }
    buckets
}

/// Token and cost sums of a batch's newly stored spans, by trace row id.
pub(crate) fn batch_trace_sums<'a>(spans: impl Iterator<Item = (&'a SpanRecord, i64)>) -> TraceSums {
    let mut sums = TraceSums::new();
    for (span, trace_rowid) in spans {
        add_trace_span(&mut sums, trace_rowid, &facts_of(span));
    }
    sums
}

/// A rollup's stored form: its models as a JSON array and its sketch encoded.
pub(crate) struct Encoded {
    project_id: i64,
    bucket_ns: i64,
    models: String,
    latency: Vec<u8>,
}

/// Encodes `buckets` for [`insert_rollups`].
pub(crate) fn encode(buckets: &Buckets) -> Result<Vec<(Encoded, &Rollup)>> {
    buckets
        .iter()
        .map(|(&(project_id, bucket_ns), rollup)| {
            let models = serde_json::to_string(&rollup.models).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok((Encoded { project_id, bucket_ns, models, latency: rollup.latency.to_java_bytes() }, rollup))
        })
        .collect()
}

/// One multi-row INSERT of encoded rollups; `None` when there are none.
pub(crate) fn insert_rollups<'a>(dialect: Dialect, rows: &'a [(Encoded, &'a Rollup)]) -> Option<Sql<'a>> {
    if rows.is_empty() {
        return None;
    }
    let mut sql = Sql::new(dialect);
    sql.push("INSERT INTO span_rollups (").push(ROLLUP_COLUMNS).push(") VALUES ");
    for (i, (encoded, rollup)) in rows.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_list([
            Param::I64(encoded.project_id),
            Param::I64(encoded.bucket_ns),
            Param::I64(rollup.span_count),
            Param::I64(rollup.error_count),
            Param::I64(rollup.root_count),
            Param::I64(rollup.token_prompt),
            Param::I64(rollup.token_completion),
            Param::F64(rollup.cost_total),
            Param::I64(rollup.last_start_ns),
            Param::Str(&encoded.models),
            Param::Bytes(&encoded.latency),
        ]);
    }
    Some(sql)
}

/// A stored rollup row back as `((project, bucket), rollup)`.
pub(crate) fn decode(row: RollupRow) -> Result<((i64, i64), Rollup)> {
    let (
        project_id,
        bucket_ns,
        span_count,
        error_count,
        root_count,
        token_prompt,
        token_completion,
        cost,
        last,
        models,
        latency,
    ) = row;
    let models = serde_json::from_str(&models).map_err(|e| StoreError::Corrupt(format!("rollup models: {e}")))?;
    let latency = DDSketch::from_java_bytes(&latency)
        .map_err(|e| StoreError::Corrupt(format!("rollup latency sketch: {e:?}")))?;
    Ok((
        (project_id, bucket_ns),
        Rollup {
            span_count,
            error_count,
            root_count,
            token_prompt,
            token_completion,
            cost_total: cost,
            last_start_ns: last,
            models,
            latency,
        },
    ))
}
