//! Secrets: API keys and tokens recognised by their prefixes, JWTs, `Bearer` credentials and
//! PEM private key blocks.

use crate::validate::{after, before, is_word};
use std::ops::Range;

/// A token recognised by its prefix: the characters its body is made of and its length
/// (prefix included).
struct Token {
    prefix: &'static str,
    body: fn(u8) -> bool,
    len: Len,
}

enum Len {
    AtLeast(usize),
    Exactly(usize),
}

fn key_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn upper_or_digit(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

fn alnum_or_underscore(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn alnum_or_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Characters of a base64url segment (JWT parts).
fn base64url(b: u8) -> bool {
    key_char(b)
}

/// Characters of an HTTP `Bearer` credential (RFC 6750 `b64token`).
fn b64token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)
}

const TOKENS: &[Token] = &[
    // OpenAI (`sk-…`, `sk-proj-…`) and Anthropic (`sk-ant-…`).
    Token { prefix: "sk-", body: key_char, len: Len::AtLeast(23) },
    // AWS access key ids, long-lived and temporary.
    Token { prefix: "AKIA", body: upper_or_digit, len: Len::Exactly(20) },
    Token { prefix: "ASIA", body: upper_or_digit, len: Len::Exactly(20) },
    // GitHub tokens.
    Token { prefix: "ghp_", body: alnum, len: Len::AtLeast(40) },
    Token { prefix: "gho_", body: alnum, len: Len::AtLeast(40) },
    Token { prefix: "ghu_", body: alnum, len: Len::AtLeast(40) },
    Token { prefix: "ghs_", body: alnum, len: Len::AtLeast(40) },
    Token { prefix: "ghr_", body: alnum, len: Len::AtLeast(40) },
    Token { prefix: "github_pat_", body: alnum_or_underscore, len: Len::AtLeast(33) },
    // Slack tokens.
    Token { prefix: "xoxa-", body: alnum_or_dash, len: Len::AtLeast(15) },
    Token { prefix: "xoxb-", body: alnum_or_dash, len: Len::AtLeast(15) },
    Token { prefix: "xoxo-", body: alnum_or_dash, len: Len::AtLeast(15) },
    Token { prefix: "xoxp-", body: alnum_or_dash, len: Len::AtLeast(15) },
    Token { prefix: "xoxr-", body: alnum_or_dash, len: Len::AtLeast(15) },
    Token { prefix: "xoxs-", body: alnum_or_dash, len: Len::AtLeast(15) },
    // Google API keys.
    Token { prefix: "AIza", body: key_char, len: Len::Exactly(39) },
    // Stripe secret and restricted keys.
    Token { prefix: "sk_live_", body: alnum, len: Len::AtLeast(24) },
    Token { prefix: "sk_test_", body: alnum, len: Len::AtLeast(24) },
    Token { prefix: "rk_live_", body: alnum, len: Len::AtLeast(24) },
    Token { prefix: "rk_test_", body: alnum, len: Len::AtLeast(24) },
];

/// Every secret in `text`, in order.
pub fn secrets(text: &str) -> Vec<Range<usize>> {
    let keys = private_keys(text);
    let mut found = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if let Some(key) = keys.iter().find(|k| k.start == i) {
            found.push(key.clone());
            i = key.end;
            continue;
        }
        match secret_at(text, i) {
            Some(range) => {
                i = range.end;
                found.push(range);
            }
            None => i += 1,
        }
    }
    found
}

/// A token secret starting at byte `i` (for `Bearer`, the credential after it).
fn secret_at(text: &str, i: usize) -> Option<Range<usize>> {
    let b = text.as_bytes();
    // Only these letters start a secret; checking them first keeps the scan cheap.
    if !matches!(b[i], b's' | b'r' | b'A' | b'g' | b'x' | b'e' | b'b' | b'B') || before(text, i).is_some_and(is_word) {
        return None;
    }
    let rest = &b[i..];
    let span = |from: usize, chars: fn(u8) -> bool| from + b[from..].iter().take_while(|&&c| chars(c)).count();
    let has_digit = |r: &Range<usize>| b[r.clone()].iter().any(u8::is_ascii_digit);
    let alone = |end: usize| !after(text, end).is_some_and(is_word);
    if rest.len() >= 6 && rest[..6].eq_ignore_ascii_case(b"bearer") {
        let start = span(i + 6, |c| c == b' ' || c == b'\t');
        let token = start..span(start, b64token);
        return (start > i + 6 && token.len() >= 16 && alone(token.end) && has_digit(&token)).then_some(token);
    }
    if rest.starts_with(b"eyJ") {
        // header.payload.signature, header and payload being base64url JSON objects (`eyJ` = `{"`).
        let header_end = span(i + 3, base64url);
        let payload = header_end + 1;
        if b.get(header_end) == Some(&b'.') && b[payload..].starts_with(b"eyJ") {
            let payload_end = span(payload + 3, base64url);
            if b.get(payload_end) == Some(&b'.') {
                let jwt = i..span(payload_end + 1, base64url);
                return (jwt.len() >= 30 && alone(jwt.end) && has_digit(&jwt)).then_some(jwt);
            }
        }
        return None;
    }
    TOKENS.iter().filter(|t| rest.starts_with(t.prefix.as_bytes())).find_map(|t| {
        let token = i..span(i + t.prefix.len(), t.body);
        let sized = match t.len {
            Len::AtLeast(n) => token.len() >= n,
            Len::Exactly(n) => token.len() == n,
        };
        (sized && alone(token.end) && has_digit(&token)).then_some(token)
    })
}

/// PEM private key blocks, `-----BEGIN … PRIVATE KEY-----` to the matching `-----END …-----`,
/// or to the end of the text when the block is cut off.
fn private_keys(text: &str) -> Vec<Range<usize>> {
    const BEGIN: &str = "-----BEGIN ";
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find(BEGIN) {
        let start = from + offset;
        let label_start = start + BEGIN.len();
        from = label_start;
        let Some(label_len) = text[label_start..].find("-----") else { break };
        let label = &text[label_start..label_start + label_len];
        if !label.ends_with("PRIVATE KEY") || !label.bytes().all(|b| b.is_ascii_uppercase() || b == b' ') {
            continue;
        }
        let footer = format!("-----END {label}-----");
        let end = text[label_start..].find(&footer).map_or(text.len(), |i| label_start + i + footer.len());
        found.push(start..end);
        from = end;
    }
    found
}
