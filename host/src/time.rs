//! Times as Ember stores them (Unix nanoseconds) and as Phoenix's API writes them (ISO 8601 with
//! `+00:00`).

use chrono::{DateTime, Timelike, Utc};

/// Current time in Unix nanoseconds.
pub fn now_ns() -> i64 {
    Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
