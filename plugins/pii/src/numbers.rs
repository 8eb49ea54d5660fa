//! Payment card and phone numbers.

use crate::validate::{after, before, card_prefix, digits, is_word, luhn, nanp};
use std::ops::Range;

/// Payment card numbers: 13 to 19 digits, optionally in groups separated by one space or dash,
/// with a card network's prefix and length and a valid Luhn checksum.
pub fn cards(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut start = 0;
    while start < b.len() {
        if !b[start].is_ascii_digit() || before(text, start).is_some_and(|p| p.is_ascii_alphanumeric()) {
            start += 1;
            continue;
        }
        // Where each digit from `start` on ends, following single separators between digits.
        let mut ends = [0usize; 19];
        let mut count = 0;
        let mut i = start;
        while count < ends.len() {
            if b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
                ends[count] = i;
                count += 1;
            } else if matches!(b.get(i), Some(b' ' | b'-')) && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
            } else {
                break;
            }
        }
        // Longest card-sized prefix that ends where a digit group ends.
        let card = (13..=count).rev().find_map(|n| {
            let end = ends[n - 1];
            if after(text, end).is_some_and(|a| a.is_ascii_digit()) {
                return None;
            }
            let number = digits(&text[start..end]);
            (card_prefix(&number) && luhn(&number)).then_some(start..end)
        });
        match card {
            Some(range) => {
                start = range.end;
                found.push(range);
            }
            None => start += 1,
        }
    }
    found
}

/// Phone numbers: international ones (`+`, a country code and groups of digits, 8 to 15 digits
/// in all) and North American ones (`(415) 555-0123`, `415.555.0123`, `1-800-555-0100`; plain
/// digit runs are not taken, they are more often ids).
pub fn phones(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let lead = before(text, i).is_some_and(|p| is_word(p) || matches!(p, b'+' | b'-' | b'.'));
        let end = match b[i] {
            _ if lead => None,
            b'+' => international(b, i),
            b'(' | b'0'..=b'9' => north_american(b, i),
            _ => None,
        };
        let trail = |end: usize| {
            after(text, end).is_some_and(|a| is_word(a) || a == b'-')
                || (after(text, end) == Some(b'.') && after(text, end + 1).is_some_and(|a| a.is_ascii_digit()))
        };
        match end.filter(|&end| !trail(end)) {
            Some(end) => {
                found.push(i..end);
                i = end;
            }
            None => i += 1,
        }
    }
    found
}

/// Where a run of digits from `at`, up to `max` long, ends, if it has at least `min`.
fn run(b: &[u8], at: usize, min: usize, max: usize) -> Option<usize> {
    let n = b[at.min(b.len())..].iter().take(max).take_while(|c| c.is_ascii_digit()).count();
    (min..=max).contains(&n).then_some(at + n)
}

fn separator(b: &[u8], at: usize) -> bool {
    matches!(b.get(at), Some(b' ' | b'.' | b'-'))
}

/// `+CC` then two to six groups (`(…)` of 1–4 digits or 1–5 digits), each after an optional
/// separator.
fn international(b: &[u8], start: usize) -> Option<usize> {
    let mut end = run(b, start + 1, 1, 3)?;
    let mut groups = 0;
    while groups < 6 {
        let at = if separator(b, end) { end + 1 } else { end };
        let group_end = if b.get(at) == Some(&b'(') {
            run(b, at + 1, 1, 4).filter(|&e| b.get(e) == Some(&b')')).map(|e| e + 1)
        } else {
            run(b, at, 1, 5)
        };
        let Some(group_end) = group_end else { break };
        end = group_end;
        groups += 1;
    }
    let count = digits_in(&b[start..end]);
    (groups >= 2 && (8..=15).contains(&count)).then_some(end)
}

/// `[1 ](ddd) ddd-dddd` or `[1-]ddd-ddd-dddd` (separators: space, dot or dash), with a
/// plausible area code and exchange.
fn north_american(b: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    if b[at] == b'1' && separator(b, at + 1) && matches!(b.get(at + 2), Some(b'(' | b'0'..=b'9')) {
        at += 2;
    }
    let area = at;
    let area_end = if b[at] == b'(' {
        let close = run(b, at + 1, 3, 3).filter(|&e| b.get(e) == Some(&b')'))?;
        if separator(b, close + 1) {
            close + 2
        } else {
            close + 1
        }
    } else {
        let end = run(b, at, 3, 3)?;
        separator(b, end).then_some(end + 1)?
    };
    let exchange_end = run(b, area_end, 3, 3)?;
    if !separator(b, exchange_end) {
        return None;
    }
    let end = run(b, exchange_end + 1, 4, 4)?;
    let number: Vec<u8> = b[area..end].iter().copied().filter(u8::is_ascii_digit).collect();
    nanp(&number).then_some(end)
}

fn digits_in(b: &[u8]) -> usize {
    b.iter().filter(|c| c.is_ascii_digit()).count()
}
