//! Checks that turn a pattern's candidate into a finding: checksums, number plans, boundaries.

/// Whether `digits` (ASCII digits only) pass the Luhn checksum of payment card numbers.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    !digits.is_empty() && sum % 10 == 0
}

/// Whether a number of this length could be issued by a card network with this prefix (Visa,
/// Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro). Keeps long ids and nanosecond
/// timestamps, which pass Luhn one time in ten, from being taken for cards.
pub fn card_prefix(digits: &[u8]) -> bool {
    let n = digits.len();
    let prefix = |k: usize| digits.iter().take(k).fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    match digits.first() {
        Some(b'4') => matches!(n, 13 | 16 | 19),
        Some(b'5') => match prefix(2) {
            51..=55 => n == 16,
            50 | 56..=59 => (13..=19).contains(&n),
            _ => false,
        },
        Some(b'2') => (2221..=2720).contains(&prefix(4)) && n == 16,
        Some(b'3') => match prefix(2) {
            34 | 37 => n == 15,
            35 => (16..=19).contains(&n),
            30 => (300..=305).contains(&prefix(3)) && (14..=16).contains(&n),
            36 | 38 | 39 => (14..=16).contains(&n),
            _ => false,
        },
        Some(b'6') => (13..=19).contains(&n),
        _ => false,
    }
}

/// Whether ten digits form a plausible North American number: area code and exchange start
/// with 2–9.
pub fn nanp(digits: &[u8]) -> bool {
    digits.len() == 10 && digits[0] >= b'2' && digits[3] >= b'2'
}

/// The ASCII digits of `text`.
pub fn digits(text: &str) -> Vec<u8> {
    text.bytes().filter(u8::is_ascii_digit).collect()
}

/// The byte before `start`, if any.
pub fn before(text: &str, start: usize) -> Option<u8> {
    start.checked_sub(1).map(|i| text.as_bytes()[i])
}

/// The byte at `end`, if any.
pub fn after(text: &str, end: usize) -> Option<u8> {
    text.as_bytes().get(end).copied()
}

/// Whether a byte continues a word (ASCII letters, digits, `_`).
pub fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_examples() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"378282246310005"));
        assert!(luhn(b"79927398713"));
        assert!(!luhn(b"4111111111111112"));
        assert!(!luhn(b"1234567812345678"));
        assert!(!luhn(b""));
    }

    #[test]
    fn card_prefixes() {
        assert!(card_prefix(b"4111111111111111"));
        assert!(!card_prefix(b"411111111111111")); // Visa is never 15 digits
        assert!(card_prefix(b"5555555555554444"));
        assert!(card_prefix(b"2223003122003222"));
        assert!(card_prefix(b"378282246310005"));
        assert!(!card_prefix(b"3782822463100050"));
        assert!(card_prefix(b"6011111111111117"));
        assert!(card_prefix(b"30569309025904"));
        assert!(!card_prefix(b"1700000000000000000")); // a nanosecond timestamp
        assert!(!card_prefix(b"9999999999999995"));
    }

    #[test]
    fn nanp_numbers() {
        assert!(nanp(b"4155550123"));
        assert!(!nanp(b"1235550123"));
        assert!(!nanp(b"4151550123"));
        assert!(!nanp(b"415555012"));
    }
}
