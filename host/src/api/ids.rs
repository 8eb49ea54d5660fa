//! Identifiers and times as Phoenix's API writes them: relay GlobalIDs and ISO 8601 with `+00:00`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Timelike, Utc};

/// `base64("Type:id")`, the relay GlobalID Phoenix uses for every row id.
pub fn global_id(type_name: &str, id: i64) -> String {
    STANDARD.encode(format!("{type_name}:{id}"))
}

/// The row id inside a GlobalID of `type_name`, or `None` when `value` is not one.
pub fn parse_global_id(type_name: &str, value: &str) -> Option<i64> {
    let decoded = STANDARD.decode(value).ok()?;
    let text = std::str::from_utf8(&decoded).ok()?;
    let (kind, id) = text.split_once(':')?;
    if kind != type_name {
        return None;
    }
    id.parse().ok()
}

/// Formats Unix nanoseconds as Python's `datetime.isoformat()` does for UTC values.
pub fn iso_time(ns: i64) -> String {
    let time = DateTime::<Utc>::from_timestamp_nanos(ns);
    if time.nanosecond() / 1_000 == 0 {
        time.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        time.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

/// Parses an ISO 8601 time (with offset, or naive meaning UTC) into Unix nanoseconds; times
/// beyond what nanoseconds can hold (after 2262) saturate rather than fail.
pub fn parse_time(value: &str) -> Option<i64> {
    let saturating = |seconds: i64, nanos: Option<i64>| nanos.unwrap_or(if seconds > 0 { i64::MAX } else { i64::MIN });
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Some(saturating(time.timestamp(), time.timestamp_nanos_opt()));
    }
    let naive = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
        .or_else(|| chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0))?;
    let time = naive.and_utc();
    Some(saturating(time.timestamp(), time.timestamp_nanos_opt()))
}

/// An opaque cursor carrying a sort key and a row id.
pub fn keyed_cursor(type_name: &str, key: i64, id: i64) -> String {
    STANDARD.encode(format!("{type_name}:{key}:{id}"))
}

/// The (key, id) of a cursor made by `keyed_cursor`.
pub fn parse_keyed_cursor(type_name: &str, value: &str) -> Option<(i64, i64)> {
    let decoded = STANDARD.decode(value).ok()?;
    let text = std::str::from_utf8(&decoded).ok()?;
    let mut parts = text.split(':');
    if parts.next()? != type_name {
        return None;
    }
    let key = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((key, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_check_the_type() {
        let id = global_id("Project", 42);
        assert_eq!(id, "UHJvamVjdDo0Mg==");
        assert_eq!(parse_global_id("Project", &id), Some(42));
        assert_eq!(parse_global_id("Span", &id), None);
        assert_eq!(parse_global_id("Project", "my-project"), None);
    }

    #[test]
    fn times_format_like_python_isoformat() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso_time(1_500_000), "1970-01-01T00:00:00.001500+00:00");
        assert_eq!(parse_time("1970-01-01T00:00:00.001500+00:00"), Some(1_500_000));
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(parse_time("1970-01-01T00:00:01"), Some(1_000_000_000));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2999-01-01T00:00:00Z"), Some(i64::MAX));
    }

    #[test]
    fn keyed_cursors_round_trip() {
        let cursor = keyed_cursor("SpanStart", -5, 9);
        assert_eq!(parse_keyed_cursor("SpanStart", &cursor), Some((-5, 9)));
        assert_eq!(parse_keyed_cursor("Other", &cursor), None);
    }
}
