//! The `where` conditions of Phoenix's span query DSL: a small subset of Python expressions
//! (`span_kind == 'LLM' and llm.token_count.total > 10`, `'paris' in output.value`,
//! `parent_id is None`, `metadata['topic'] in ('a', 'b')`), parsed once and evaluated per span.

use std::cmp::Ordering;

use serde_json::Value;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal value (`'x'`, `1.5`, `None`, `True`, a list or tuple of literals).
    Literal(Value),
    /// A span field or attribute by dotted path (`llm.token_count.total`).
    Field(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    /// A comparison chain `a < b <= c`, true when every link holds.
    Compare(Box<Expr>, Vec<(CmpOp, Expr)>),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Is,
    IsNot,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    Num(Value),
    Op(&'static str),
}

const OPS: [&str; 14] = ["==", "!=", "<=", ">=", "<", ">", "(", ")", "[", "]", ",", ".", "-", "+"];

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
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

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn peek_name(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(n)) if n == name)
    }
    fn peek_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }
    fn expect_op(&mut self, op: &str) -> Result<(), String> {
        if self.peek_op(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {op:?}"))
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_name("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while self.peek_name("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.peek_name("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn cmp_op(&mut self) -> Option<CmpOp> {
        let op = match self.peek()? {
            Tok::Op("==") => CmpOp::Eq,
            Tok::Op("!=") => CmpOp::Ne,
            Tok::Op("<") => CmpOp::Lt,
            Tok::Op("<=") => CmpOp::Le,
            Tok::Op(">") => CmpOp::Gt,
            Tok::Op(">=") => CmpOp::Ge,
            Tok::Name(n) if n == "in" => CmpOp::In,
            Tok::Name(n) if n == "is" => {
                self.pos += 1;
                if self.peek_name("not") {
                    self.pos += 1;
                    return Some(CmpOp::IsNot);
                }
                return Some(CmpOp::Is);
            }
            Tok::Name(n) if n == "not" && matches!(self.toks.get(self.pos + 1), Some(Tok::Name(m)) if m == "in") => {
                self.pos += 2;
                return Some(CmpOp::NotIn);
            }
            _ => return None,
        };
        self.pos += 1;
        Some(op)
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let first = self.atom()?;
        let mut links = Vec::new();
        while let Some(op) = self.cmp_op() {
            links.push((op, self.atom()?));
        }
        Ok(if links.is_empty() { first } else { Expr::Compare(Box::new(first), links) })
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let tok = self.peek().cloned().ok_or("unexpected end of condition")?;
        self.pos += 1;
        match tok {
            Tok::Str(s) => Ok(Expr::Literal(Value::String(s))),
            Tok::Num(n) => Ok(Expr::Literal(n)),
            Tok::Op("-") | Tok::Op("+") => match self.atom()? {
                Expr::Literal(Value::Number(n)) if tok == Tok::Op("-") => Ok(Expr::Literal(match n.as_i64() {
                    Some(i) => Value::from(-i),
                    None => Value::from(-n.as_f64().unwrap_or(0.0)),
                })),
                e @ Expr::Literal(Value::Number(_)) => Ok(e),
                _ => Err("unary +/- applies only to numbers".into()),
            },
            Tok::Op("(") | Tok::Op("[") => {
                let close = if tok == Tok::Op("(") { ")" } else { "]" };
                let mut items = Vec::new();
                let mut tuple = close == "]";
                while !self.peek_op(close) {
                    items.push(self.or()?);
                    if self.peek_op(",") {
                        self.pos += 1;
                        tuple = true;
                    } else {
                        break;
                    }
                }
                self.expect_op(close)?;
                if !tuple && items.len() == 1 {
                    return items.pop().ok_or_else(|| "empty parentheses".into());
                }
                let values = items
                    .into_iter()
                    .map(|e| match e {
                        Expr::Literal(v) => Ok(v),
                        _ => Err("lists may hold only literals".to_owned()),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Expr::Literal(Value::Array(values)))
            }
            Tok::Name(name) => match name.as_str() {
                "None" => Ok(Expr::Literal(Value::Null)),
                "True" => Ok(Expr::Literal(Value::Bool(true))),
                "False" => Ok(Expr::Literal(Value::Bool(false))),
                "annotations" | "evals" => Err(format!("{name}[...] conditions are not supported by Ember yet")),
                _ => self.path(name),
            },
            Tok::Op(op) => Err(format!("unexpected {op:?}")),
        }
    }

    /// `a.b.c`, `metadata['k']`, `attributes['x.y']`, `a[0]`: a dotted path.
    fn path(&mut self, first: String) -> Result<Expr, String> {
        let mut path = first;
        loop {
            if self.peek_op(".") {
                self.pos += 1;
                match self.peek().cloned() {
                    Some(Tok::Name(n)) => path = format!("{path}.{n}"),
                    _ => return Err("expected a name after '.'".into()),
                }
                self.pos += 1;
            } else if self.peek_op("[") {
                self.pos += 1;
                match self.peek().cloned() {
                    Some(Tok::Str(s)) => path = format!("{path}.{s}"),
                    Some(Tok::Num(n)) => path = format!("{path}.{n}"),
                    _ => return Err("expected a string or integer subscript".into()),
                }
                self.pos += 1;
                self.expect_op("]")?;
            } else {
                return Ok(Expr::Field(path));
            }
        }
    }
}

/// Parses a condition; the error says what is wrong with it.
pub fn parse(text: &str) -> Result<Expr, String> {
    let mut parser = Parser { toks: tokenize(text)?, pos: 0 };
    let expr = parser.or()?;
    if parser.pos != parser.toks.len() {
        return Err(format!("unexpected trailing input in condition {text:?}"));
    }
    Ok(expr)
}

/// Evaluates `expr` for one span, `field` resolving a dotted path to its value (null if absent).
pub fn matches(expr: &Expr, field: &dyn Fn(&str) -> Value) -> bool {
    truthy(&eval(expr, field))
}

fn eval(expr: &Expr, field: &dyn Fn(&str) -> Value) -> Value {
    match expr {
        Expr::Literal(v) => v.clone(),
        Expr::Field(path) => field(path),
        Expr::Not(e) => Value::Bool(!matches(e, field)),
        Expr::And(a, b) => Value::Bool(matches(a, field) && matches(b, field)),
        Expr::Or(a, b) => Value::Bool(matches(a, field) || matches(b, field)),
        Expr::Compare(first, links) => {
            let mut left = eval(first, field);
            for (op, right) in links {
                let right = eval(right, field);
                if !compare(*op, &left, &right) {
                    return Value::Bool(false);
                }
                left = right;
            }
            Value::Bool(true)
        }
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// SQL-like: comparisons involving null (other than `is`, `==`, `!=`) are false.
fn compare(op: CmpOp, left: &Value, right: &Value) -> bool {
    match op {
        CmpOp::Eq => equal(left, right),
        CmpOp::Ne => !left.is_null() && !equal(left, right),
        CmpOp::Is => left.is_null() == right.is_null() && (left.is_null() || equal(left, right)),
        CmpOp::IsNot => !compare(CmpOp::Is, left, right),
        CmpOp::Lt => order(left, right) == Some(Ordering::Less),
        CmpOp::Le => matches!(order(left, right), Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => order(left, right) == Some(Ordering::Greater),
        CmpOp::Ge => matches!(order(left, right), Some(Ordering::Greater | Ordering::Equal)),
        CmpOp::In => contains(right, left),
        CmpOp::NotIn => !left.is_null() && !right.is_null() && !contains(right, left),
    }
}

fn contains(haystack: &Value, needle: &Value) -> bool {
    match (haystack, needle) {
        (Value::String(h), Value::String(n)) => h.contains(n.as_str()),
        (Value::Array(items), n) => items.iter().any(|item| equal(item, n)),
        (Value::Object(map), Value::String(n)) => map.contains_key(n),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(cond: &str, span: &Value) -> bool {
        let expr = parse(cond).expect("parses");
        matches(&expr, &|path: &str| span.get(path).cloned().unwrap_or(Value::Null))
    }

    #[test]
    fn python_conditions_evaluate() {
        let span = json!({"span_kind": "LLM", "llm.token_count.total": 30, "output.value": "Paris is nice",
                          "parent_id": null, "metadata.topic": "geo"});
        assert!(check("span_kind == 'LLM'", &span));
        assert!(check("span_kind == \"LLM\" and llm.token_count.total > 10", &span));
        assert!(!check("llm.token_count.total >= 31 or span_kind != 'LLM'", &span));
        assert!(check("'Paris' in output.value", &span));
        assert!(check("'Rome' not in output.value", &span));
        assert!(check("parent_id is None", &span));
        assert!(!check("parent_id is not None", &span));
        assert!(check("metadata['topic'] in ('geo', 'math')", &span));
        assert!(check("not (span_kind in ['CHAIN'])", &span));
        assert!(check("10 < llm.token_count.total <= 30", &span));
        assert!(!check("missing.attr > 3", &span));
        assert!(check("llm.token_count.total > -1.5", &span));
    }

    #[test]
    fn bad_conditions_are_refused() {
        for bad in ["span_kind ==", "'open", "a $ b", "annotations['x'].score > 1", "(a", "a b"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
