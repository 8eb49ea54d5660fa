//! Finding sensitive text: a cheap pre-check per kind that skips text which cannot contain it,
//! then a scan of the text and a validation of each candidate.
//!
//! The scans are hand-written rather than regexes: a plugin instance lives for a single call, so
//! a regex would be compiled on every call, and measured in wasmtime that set-up cost (0.3–0.7 ms
//! per pattern set with the `regex` crate) was most of a call's time; the shapes are simple and
//! each candidate is confirmed by a checksum, the standard library's address parsers or a length
//! rule anyway.

use crate::{addresses, numbers, secrets};
use serde::Deserialize;
use std::ops::Range;

/// A kind of sensitive text.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// API keys, tokens, JWTs, `Bearer` credentials, private key blocks.
    Secret,
    /// Email addresses.
    Email,
    /// Payment card numbers passing the Luhn check.
    Card,
    /// IPv4 and IPv6 addresses.
    Ip,
    /// International (`+…`) and North American phone numbers.
    Phone,
}

impl Kind {
    /// Every kind, in the order overlapping findings are settled (earlier wins).
    pub const ALL: [Kind; 5] = [Kind::Secret, Kind::Email, Kind::Card, Kind::Ip, Kind::Phone];

    /// The kind's name in configuration and replacements.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Secret => "secret",
            Kind::Email => "email",
            Kind::Card => "card",
            Kind::Ip => "ip",
            Kind::Phone => "phone",
        }
    }
}

/// What one pass over a text says about which kinds it may contain.
#[derive(Debug, Default)]
pub struct Hints {
    len: usize,
    digits: usize,
    at: bool,
    dots: usize,
    colons: usize,
    double_colon: bool,
}

impl Hints {
    /// Counts the characters the pre-checks look at.
    pub fn of(text: &str) -> Self {
        let mut hints = Hints { len: text.len(), ..Hints::default() };
        let mut previous = 0u8;
        for &b in text.as_bytes() {
            match b {
                b'0'..=b'9' => hints.digits += 1,
                b'@' => hints.at = true,
                b'.' => hints.dots += 1,
                b':' => {
                    hints.colons += 1;
                    hints.double_colon |= previous == b':';
                }
                _ => {}
            }
            previous = b;
        }
        hints
    }

    /// Whether the text these hints describe may contain `kind`.
    pub fn may_contain(&self, kind: Kind) -> bool {
        match kind {
            // Every token secret has a digit and at least 15 characters.
            Kind::Secret => self.len >= 15 && self.digits > 0,
            Kind::Email => self.at && self.dots > 0,
            Kind::Card => self.digits >= 13,
            Kind::Ip => (self.digits >= 4 && self.dots >= 3) || self.double_colon || self.colons >= 7,
            Kind::Phone => self.digits >= 8,
        }
    }
}

/// Every finding of `kind` in `text`, in order, not overlapping.
pub fn find(kind: Kind, text: &str) -> Vec<Range<usize>> {
    match kind {
        Kind::Secret => secrets::secrets(text),
        Kind::Email => addresses::emails(text),
        Kind::Card => numbers::cards(text),
        Kind::Ip => addresses::ips(text),
        Kind::Phone => numbers::phones(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(kind: Kind, text: &str) -> Vec<&str> {
        find(kind, text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn emails() {
        assert_eq!(
            found(Kind::Email, "write to ada.lovelace+ai@math.example.co.uk."),
            ["ada.lovelace+ai@math.example.co.uk"]
        );
        assert_eq!(found(Kind::Email, "<bob@example.org>, jürgen@bücher.de"), ["bob@example.org", "jürgen@bücher.de"]);
        assert!(found(Kind::Email, "@mention, user@localhost, a@b.c, x@1.2.3.4, @@").is_empty());
    }
    #[test]
    fn cards() {
        assert_eq!(found(Kind::Card, "card 4111 1111 1111 1111, exp 12/27"), ["4111 1111 1111 1111"]);
        assert_eq!(found(Kind::Card, "amex 3782-822463-10005."), ["3782-822463-10005"]);
        assert_eq!(found(Kind::Card, "4111111111111111 5"), ["4111111111111111"]);
        // Luhn failures, ids and timestamps stay.
        assert!(found(Kind::Card, "card 4111 1111 1111 1112").is_empty());
        assert!(found(Kind::Card, "order 1234567812345678").is_empty());
        assert!(found(Kind::Card, "t=1700000000000000000 and 41111111111111111111").is_empty());
        assert!(found(Kind::Card, "id x4111111111111111").is_empty());
    }

    #[test]
    fn ips() {
        assert_eq!(found(Kind::Ip, "from 192.168.1.20, to 8.8.8.8."), ["192.168.1.20", "8.8.8.8"]);
        assert_eq!(found(Kind::Ip, "v6 2001:db8::8a2e:370:7334 and ::1"), ["2001:db8::8a2e:370:7334", "::1"]);
        assert_eq!(found(Kind::Ip, "mapped ::ffff:10.0.0.1"), ["::ffff:10.0.0.1"]);
        assert_eq!(found(Kind::Ip, "link fe80::1%eth0"), ["fe80::1"]);
        assert_eq!(found(Kind::Ip, "host:10.0.0.1 and 10.0.0.2:443"), ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(found(Kind::Ip, "fe80:0:0:0:202:b3ff:fe1e:8329"), ["fe80:0:0:0:202:b3ff:fe1e:8329"]);
        assert!(found(Kind::Ip, "version 1.2.3.4.5, 999.1.1.1, v1.2.3.4, at 12:30:45").is_empty());
        assert!(found(Kind::Ip, "std::vector and a :: b and Foo::Bar and 00:1A:2B:3C:4D:5E").is_empty());
    }

    #[test]
    fn phones() {
        assert_eq!(found(Kind::Phone, "call +44 20 7946 0958 now"), ["+44 20 7946 0958"]);
        assert_eq!(found(Kind::Phone, "or +4915112345678."), ["+4915112345678"]);
        assert_eq!(found(Kind::Phone, "US (415) 555-0123 or 415.555.0199"), ["(415) 555-0123", "415.555.0199"]);
        assert_eq!(found(Kind::Phone, "1-800-555-0100"), ["1-800-555-0100"]);
        assert!(found(Kind::Phone, "on 2024-01-15 at 10:30:00, id 5551234567, n=123-45-6789").is_empty());
        assert!(found(Kind::Phone, "+12 3, version 1.2.345.6789, 123-456-7890").is_empty());
    }

    #[test]
    fn secrets() {
        let openai = "sk-proj-abc123DEF456ghi789JKL012mno345";
        let anthropic = "sk-ant-api03-AbCdEf0123456789_-AbCdEf0123456789";
        let aws = "AKIAIOSFODNN7EXAMPLE";
        let github = "ghp_0123456789abcdefABCDEF0123456789abcd";
        let github_pat = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv";
        let slack = "xoxb-1234567890-abcdefghij";
        let google = "AIzaSyA1234567890abcdefghijklmnopqrstuv";
        let stripe = "sk_live_51H0abcdefghijklmnop";
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        for key in [openai, anthropic, aws, github, github_pat, slack, google, stripe, jwt] {
            assert_eq!(found(Kind::Secret, &format!("key: {key}.")), [key], "{key}");
        }
        assert_eq!(found(Kind::Secret, "Authorization: Bearer abc123def456ghi789"), ["abc123def456ghi789"]);
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK==\n-----END RSA PRIVATE KEY-----";
        assert_eq!(found(Kind::Secret, &format!("x\n{pem}\ny")), [pem]);
        let cut = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE";
        assert_eq!(found(Kind::Secret, &format!("key: {cut}")), [cut]);
        assert!(found(Kind::Secret, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").is_empty());
        assert!(found(Kind::Secret, "task-management-system-overview and ask-the-audience-for-help-now").is_empty());
        assert!(found(Kind::Secret, "sk-this-is-not-a-key-at-all-really").is_empty());
        assert!(found(Kind::Secret, "AKIAIOSFODNN7EXAMPLEX and the bearer of bad news").is_empty());
    }

    #[test]
    fn hints_skip_hopeless_text() {
        let text = "The meeting is at 10:30 on the 3rd floor.";
        let hints = Hints::of(text);
        for kind in [Kind::Email, Kind::Card, Kind::Ip, Kind::Phone] {
            assert!(!hints.may_contain(kind), "{kind:?}");
        }
        assert!(!Hints::of("no digits in this sentence at all").may_contain(Kind::Secret));
        assert!(Hints::of("mail ada@example.com").may_contain(Kind::Email));
    }
}
