//! Splits a condition into tokens, refusing conditions with more than [`MAX_TOKENS`] of them.

use serde_json::Value;

use super::MAX_TOKENS;

/// One token of a condition.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Name(String),
    Str(String),
    Num(Value),
    Op(&'static str),
}

const OPS: [&str; 14] = ["==", "!=", "<=", ">=", "<", ">", "(", ")", "[", "]", ",", ".", "-", "+"];

/// The tokens of `text`; the error says what is wrong with it.
pub(super) fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if out.len() >= MAX_TOKENS {
            return Err(format!("condition has more than {MAX_TOKENS} tokens"));
        }
        if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("unterminated string literal".into()),
                    Some(&q) if q == c => break,
                    Some('\\') => {
                        let next = chars.get(i + 1).copied().ok_or("unterminated string literal")?;
                        s.push(match next {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                        i += 2;
                        continue;
                    }
                    Some(&other) => s.push(other),
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == 'e' || chars[i] == 'E')
            {
                i += 1;
            }
            let raw: String = chars[start..i].iter().collect();
            let num = match raw.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => raw.parse::<f64>().map(Value::from).map_err(|_| format!("bad number {raw:?}"))?,
            };
            out.push(Tok::Num(num));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Name(chars[start..i].iter().collect()));
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let op =
                OPS.iter().find(|op| rest.starts_with(**op)).ok_or_else(|| format!("unexpected character {c:?}"))?;
            i += op.len();
            out.push(Tok::Op(op));
        }
    }
    Ok(out)
}
