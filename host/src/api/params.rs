//! Query-string parsing that keeps repeated keys (`?trace_id=a&trace_id=b`), as Phoenix's API uses
//! them.

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

    /// One of a fixed set of values; the first option is the default when the parameter is absent.
    pub fn one_of<T: Copy>(&self, name: &str, options: &[(&str, T)]) -> ApiResult<T> {
        let Some(raw) = self.get(name) else { return Ok(options[0].1) };
        options.iter().find(|(key, _)| *key == raw).map(|(_, value)| *value).ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(key, _)| *key).collect();
            ApiError::invalid(format!("{name} must be one of {}, got {raw:?}", names.join(", ")))
        })
    }

    /// The `cursor` parameter decoded by `parse`; a cursor it cannot read is a 422.
    pub fn cursor<T>(&self, parse: impl FnOnce(&str) -> Option<T>) -> ApiResult<Option<T>> {
        let Some(raw) = self.get("cursor") else { return Ok(None) };
        parse(raw).map(Some).ok_or_else(|| ApiError::invalid(format!("Invalid cursor: {raw}")))
    }

    /// `order`: true for descending; `default_desc` when absent.
    pub fn descending(&self, default_desc: bool) -> ApiResult<bool> {
        let options = if default_desc { [("desc", true), ("asc", false)] } else { [("asc", false), ("desc", true)] };
        self.one_of("order", &options)
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
        crate::time::parse_time(raw)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("{name} is not an ISO 8601 time: {raw:?}")))
    }
}
