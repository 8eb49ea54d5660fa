//! Query-string parsing that keeps repeated keys (`?trace_id=a&trace_id=b`), as Phoenix's API uses them.

use super::error::{ApiError, ApiResult};

/// The decoded pairs of a query string.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes a raw query string (absent means empty).
    pub fn parse(query: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect();
        Self(pairs)
    }

    /// The last value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// `limit` within `1..=max`, defaulting to 100.
    pub fn limit(&self, max: i64) -> ApiResult<i64> {
        let Some(raw) = self.get("limit") else { return Ok(100.min(max)) };
        match raw.parse::<i64>() {
            Ok(n) if n >= 1 && n <= max => Ok(n),
            _ => Err(ApiError::invalid(format!("limit must be an integer from 1 to {max}, got {raw:?}"))),
        }
    }

    /// `order`: true for descending; `default_desc` when absent.
    pub fn descending(&self, default_desc: bool) -> ApiResult<bool> {
        match self.get("order") {
            None => Ok(default_desc),
            Some("desc") => Ok(true),
            Some("asc") => Ok(false),
            Some(other) => Err(ApiError::invalid(format!("order must be asc or desc, got {other:?}"))),
        }
    }

    /// A boolean flag (`true`/`false`/`1`/`0`).
    pub fn flag(&self, name: &str) -> ApiResult<bool> {
        match self.get(name) {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(other) => Err(ApiError::invalid(format!("{name} must be true or false, got {other:?}"))),
        }
    }

    /// An ISO 8601 time parameter as Unix nanoseconds.
    pub fn time(&self, name: &str) -> ApiResult<Option<i64>> {
        let Some(raw) = self.get(name) else { return Ok(None) };
        super::ids::parse_time(raw)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("{name} is not an ISO 8601 time: {raw:?}")))
    }
}

/// Splits the extra row off a `limit + 1` fetch: it starts the next page, if there is one.
pub fn next_page_start<T>(rows: &mut Vec<T>, limit: i64) -> Option<T> {
    if rows.len() as i64 > limit {
        rows.pop()
    } else {
        None
    }
}
