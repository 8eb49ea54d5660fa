//! Email and IP addresses.

use crate::validate::{after, before, is_word};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// Email addresses: around each `@`, a local part and a domain whose last label is at least two
/// letters. Non-ASCII letters count on both sides (internationalized addresses).
pub fn emails(text: &str) -> Vec<Range<usize>> {
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c) || (!c.is_ascii() && c.is_alphanumeric());
    let domain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.' || (!c.is_ascii() && c.is_alphanumeric());
    let mut found: Vec<Range<usize>> = Vec::new();
    for (at, _) in text.match_indices('@') {
        if found.last().is_some_and(|r| at < r.end) {
            continue;
        }
        let start = text[..at].char_indices().rev().take_while(|&(_, c)| local(c)).last().map_or(at, |(i, _)| i);
        let start = start + text[start..at].bytes().take_while(|&b| b == b'.').count();
        let rest = &text[at + 1..];
        let len = rest.char_indices().take_while(|&(_, c)| domain(c)).last().map_or(0, |(i, c)| i + c.len_utf8());
        let host = rest[..len].trim_end_matches(['.', '-']);
        let tld = host.rsplit('.').next().unwrap_or_default();
        let valid = start < at
            && host.contains('.')
            && host.split('.').all(|label| !label.is_empty())
            && tld.chars().count() >= 2
            && tld.chars().all(char::is_alphabetic);
        if valid {
            found.push(start..at + 1 + host.len());
        }
    }
    found
}

/// IPv4 and IPv6 addresses: runs of the characters addresses are made of, standing alone (no
/// letter, digit or `_` on either side) and accepted by the standard library's parsers.
pub fn ips(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let in_address = |c: u8| c.is_ascii_hexdigit() || c == b':' || c == b'.';
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !in_address(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && in_address(b[i]) {
            i += 1;
        }
        let run = text[start..i].trim_end_matches('.');
        // Most runs are words made of the letters a–f; an address has separators.
        if run.len() < 3 || !run.bytes().any(|c| c == b':' || c == b'.') {
            continue;
        }
        let end = start + run.len();
        let (lead, trail) = (!before(text, start).is_some_and(is_word), !after(text, end).is_some_and(is_word));
        if lead
            && trail
            && run.contains(':')
            && run.bytes().any(|c| c.is_ascii_hexdigit())
            && run.parse::<Ipv6Addr>().is_ok()
        {
            found.push(start..end);
            continue;
        }
        // Not IPv6: IPv4 addresses may still sit between colons (`host:10.0.0.1`, `10.0.0.1:443`).
        let mut offset = start;
        for piece in run.split(':') {
            let piece_end = offset + piece.len();
            let alone = (offset > start || lead) && (piece_end < end || trail);
            if alone && piece.parse::<Ipv4Addr>().is_ok() {
                found.push(offset..piece_end);
            }
            offset = piece_end + 1;
        }
    }
    found
}
