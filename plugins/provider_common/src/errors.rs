//! HTTP failures as `chat-error`s, the same for every provider: 429 → `rate-limited`, 5xx →
//! `unavailable`, other 4xx → `invalid-request`, timeouts and connection failures → `unavailable`
//! (the host retries those), an oversized answer → `failed`.

use ember_plugin_sdk::provider::http::{Header, HttpError};
use ember_plugin_sdk::provider::ChatError;
use serde_json::Value;

/// Longest provider message kept in an error, in bytes; error bodies can be whole HTML pages.
const MAX_MESSAGE_BYTES: usize = 500;

/// The `chat-error` for a non-2xx answer.
pub fn status_error(provider: &str, status: u16, headers: &[Header], body: &[u8]) -> ChatError {
    match status {
        429 => ChatError::RateLimited(retry_after_ms(headers)),
        500..=599 => ChatError::Unavailable(format!("{provider} {status}: {}", provider_message(body))),
        400..=499 => ChatError::InvalidRequest(provider_message(body)),
        _ => ChatError::Failed(format!("{provider} answered with status {status}: {}", provider_message(body))),
    }
}

/// How long the provider asked to wait, in milliseconds: `retry-after-ms`, else `retry-after` in
/// seconds (an HTTP date is ignored).
pub fn retry_after_ms(headers: &[Header]) -> Option<u32> {
    let number = |name: &str| {
        headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| h.value.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    let ms = number("retry-after-ms").or_else(|| number("retry-after").map(|seconds| seconds * 1000.0))?;
    // Saturating float-to-int conversion: a huge value becomes u32::MAX.
    Some(ms.ceil() as u32)
}

/// The provider's own error message from an error body: `error.message` (OpenAI, Anthropic),
/// `error` as a string, `message` or `detail`; else the body's text, shortened.
pub fn provider_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        let candidates = [&value["error"]["message"], &value["error"], &value["message"], &value["detail"]];
        if let Some(message) = candidates.iter().find_map(|v| v.as_str()).filter(|m| !m.trim().is_empty()) {
            return shorten(message.trim());
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "no error message".to_owned()
    } else {
        shorten(text)
    }
}

/// `text` cut to at most [`MAX_MESSAGE_BYTES`] on a character boundary.
fn shorten(text: &str) -> String {
    if text.len() <= MAX_MESSAGE_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The `chat-error` for a request the host could not complete.
pub fn map_http_error(url: &str, timeout_ms: Option<u32>, error: HttpError) -> ChatError {
    match error {
        HttpError::Timeout => match timeout_ms {
            Some(ms) => ChatError::Unavailable(format!("timeout after {ms} ms waiting for {url}")),
            None => ChatError::Unavailable(format!("timeout waiting for {url}")),
        },
        HttpError::Connection(message) => ChatError::Unavailable(format!("connection to {url} failed: {message}")),
        HttpError::TooLarge(limit) => ChatError::Failed(format!("response larger than {limit} bytes")),
        HttpError::InvalidRequest(message) => ChatError::InvalidRequest(format!("cannot send to {url}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header;

    #[test]
    fn statuses_map_to_chat_errors() {
        let body = br#"{"error": {"message": "model not found", "type": "invalid_request_error"}}"#;
        let err = status_error("openai", 404, &[], body);
        assert!(matches!(&err, ChatError::InvalidRequest(m) if m == "model not found"), "{err:?}");
        let err = status_error("openai", 503, &[], br#"{"error": "overloaded"}"#);
        assert!(matches!(&err, ChatError::Unavailable(m) if m == "openai 503: overloaded"), "{err:?}");
        let err = status_error(
            "anthropic",
            529,
            &[],
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert!(matches!(&err, ChatError::Unavailable(m) if m == "anthropic 529: Overloaded"), "{err:?}");
        let err = status_error("openai", 429, &[header("Retry-After", "2")], b"");
        assert!(matches!(err, ChatError::RateLimited(Some(2000))), "{err:?}");
        let err = status_error("openai", 429, &[], b"slow down");
        assert!(matches!(err, ChatError::RateLimited(None)), "{err:?}");
        let err = status_error("openai", 302, &[], b"");
        assert!(matches!(&err, ChatError::Failed(m) if m.contains("302")), "{err:?}");
    }

    #[test]
    fn retry_after_prefers_milliseconds() {
        let headers = [header("retry-after", "3"), header("retry-after-ms", "1500.2")];
        assert_eq!(retry_after_ms(&headers), Some(1501));
        assert_eq!(retry_after_ms(&[header("retry-after", "0.5")]), Some(500));
        assert_eq!(retry_after_ms(&[header("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]), None);
        assert_eq!(retry_after_ms(&[header("retry-after", "-1")]), None);
        assert_eq!(retry_after_ms(&[header("retry-after", "1e12")]), Some(u32::MAX));
    }

    #[test]
    fn messages_come_from_the_body() {
        assert_eq!(provider_message(br#"{"message": "bad key"}"#), "bad key");
        assert_eq!(provider_message(br#"{"detail": "Not Found"}"#), "Not Found");
        assert_eq!(provider_message(b"  <html>oops</html> "), "<html>oops</html>");
        assert_eq!(provider_message(b""), "no error message");
        let long = "é".repeat(400);
        let message = provider_message(long.as_bytes());
        assert!(message.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8() && message.ends_with('…'));
    }

    #[test]
    fn transport_failures_map_to_chat_errors() {
        let url = "https://api.example.com/v1/chat/completions";
        let err = map_http_error(url, Some(60_000), HttpError::Timeout);
        assert!(matches!(&err, ChatError::Unavailable(m) if m.starts_with("timeout after 60000 ms")), "{err:?}");
        let err = map_http_error(url, None, HttpError::Connection("refused".into()));
        assert!(matches!(&err, ChatError::Unavailable(m) if m.contains("refused")), "{err:?}");
        let err = map_http_error(url, None, HttpError::TooLarge(1024));
        assert!(matches!(&err, ChatError::Failed(m) if m == "response larger than 1024 bytes"), "{err:?}");
        let err = map_http_error(url, None, HttpError::InvalidRequest("bad url".into()));
        assert!(matches!(err, ChatError::InvalidRequest(_)), "{err:?}");
    }
}
