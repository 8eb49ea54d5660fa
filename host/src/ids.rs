//! Identifiers as Phoenix's API writes them: relay GlobalIDs, and opaque cursors built the same way.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

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
    fn keyed_cursors_round_trip() {
        let cursor = keyed_cursor("SpanStart", -5, 9);
        assert_eq!(parse_keyed_cursor("SpanStart", &cursor), Some((-5, 9)));
        assert_eq!(parse_keyed_cursor("Other", &cursor), None);
    }
}
