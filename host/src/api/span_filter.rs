//! The span filters shared by `GET /v1/projects/{p}/spans` (query parameters) and
//! `evaluate_spans` (a JSON object): one parser and one set of error messages for both.

use serde_json::Value;

use super::error::{ApiError, ApiResult};
use crate::ingest::openinference::SPAN_KINDS;
use crate::store::{SpanQuery, SpanSort};

const STATUS_CODES: [&str; 3] = ["OK", "ERROR", "UNSET"];

/// The filters as sent: every value a string, each filter given any number of times.
#[derive(Debug, Default)]
pub struct RawSpanFilter {
    pub span_kind: Vec<String>,
    pub status_code: Vec<String>,
    /// `key:value` pairs (see [`parse_attribute_filter`]).
    pub attribute: Vec<String>,
    pub name: Vec<String>,
    pub trace_id: Vec<String>,
    pub span_id: Vec<String>,
    /// Already parsed by the caller, whose parameter naming the error message should use.
    pub start_ns: Option<i64>,
    pub end_ns: Option<i64>,
}

impl RawSpanFilter {
    /// Checks every value and builds a query over `project_id`'s spans: sorted by id, ascending,
    /// from the start, at most `limit` rows. Callers override the paging fields they take.
    pub fn into_query(self, project_id: i64, limit: i64) -> ApiResult<SpanQuery> {
        let span_kinds = upper_all(self.span_kind);
        if let Some(bad) = span_kinds.iter().find(|k| !SPAN_KINDS.contains(&k.as_str())) {
            return Err(ApiError::invalid(format!(
                "unknown span_kind {bad:?}; expected one of {}",
                SPAN_KINDS.join(", ")
            )));
        }
        let status_codes = upper_all(self.status_code);
        if let Some(bad) = status_codes.iter().find(|k| !STATUS_CODES.contains(&k.as_str())) {
            return Err(ApiError::invalid(format!("unknown status_code {bad:?}; expected OK, ERROR or UNSET")));
        }
        let attributes = self.attribute.iter().map(|raw| parse_attribute_filter(raw)).collect::<ApiResult<_>>()?;
        Ok(SpanQuery {
            project_id,
            sort: SpanSort::Id,
            descending: false,
            limit,
            cursor: None,
            start_ns: self.start_ns,
            end_ns: self.end_ns,
            trace_ids: self.trace_id,
            span_ids: self.span_id,
            parent_id: None,
            names: self.name,
            span_kinds,
            status_codes,
            model_names: Vec::new(),
            attributes,
            condition: None,
        })
    }
}

fn upper_all(values: Vec<String>) -> Vec<String> {
    values.into_iter().map(|v| v.to_ascii_uppercase()).collect()
}

/// `key:value`, the key a dot-path and the value JSON-parsed (`12` is a number, `true` a bool,
/// anything that is not JSON a string).
fn parse_attribute_filter(raw: &str) -> ApiResult<(Vec<String>, Value)> {
    let Some((key, value)) = raw.split_once(':') else {
        return Err(ApiError::invalid(format!("attribute filter must be key:value, got {raw:?}")));
    };
    let path: Vec<String> = key.split('.').map(str::to_owned).collect();
    if key.is_empty() || path.iter().any(String::is_empty) {
        return Err(ApiError::invalid(format!("attribute filter has an empty key segment: {raw:?}")));
    }
    let value = serde_json::from_str::<Value>(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((path, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attribute_filters_parse_json_values() {
        assert_eq!(parse_attribute_filter("user.id:12").expect("ok"), (vec!["user".into(), "id".into()], json!(12)));
        assert_eq!(parse_attribute_filter("a:true").expect("ok").1, json!(true));
        assert_eq!(parse_attribute_filter("metadata.tier:gold").expect("ok").1, json!("gold"));
        assert!(parse_attribute_filter("nocolon").is_err());
        assert!(parse_attribute_filter("a..b:1").is_err());
    }

    #[test]
    fn kinds_and_status_codes_are_checked_case_blind() {
        let raw =
            RawSpanFilter { span_kind: vec!["llm".into()], status_code: vec!["error".into()], ..Default::default() };
        let query = raw.into_query(7, 10).expect("valid filter");
        assert_eq!((query.project_id, query.limit), (7, 10));
        assert_eq!((query.span_kinds, query.status_codes), (vec!["LLM".to_owned()], vec!["ERROR".to_owned()]));
        let raw = RawSpanFilter { span_kind: vec!["robot".into()], ..Default::default() };
        assert!(raw.into_query(1, 10).is_err());
        let raw = RawSpanFilter { status_code: vec!["fine".into()], ..Default::default() };
        assert!(raw.into_query(1, 10).is_err());
    }
}
