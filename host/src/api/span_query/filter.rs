//! The `where` conditions of Phoenix's span query DSL: a small subset of Python expressions
//! (`span_kind == 'LLM' and llm.token_count.total > 10`, `'paris' in output.value`,
//! `parent_id is None`, `metadata['topic'] in ('a', 'b')`), parsed once and evaluated per span.
//!
//! Conditions come from request bodies, so parsing is bounded: at most [`MAX_CONDITION_BYTES`]
//! bytes, [`MAX_TOKENS`] tokens and [`MAX_DEPTH`] levels of nesting (parentheses, brackets,
//! `not`, unary signs). `and`/`or` chains parse to flat lists, so the tree's depth, and with it
//! the recursion of parsing, evaluating and dropping it, stays proportional to the nesting.

use serde_json::Value;

mod eval;
mod lex;
#[cfg(test)]
mod tests;

pub use eval::matches;
use lex::{tokenize, Tok};

/// Longest condition accepted, in bytes.
pub const MAX_CONDITION_BYTES: usize = 16 * 1024;
/// Most tokens a condition may have.
pub const MAX_TOKENS: usize = 4096;
/// Deepest nesting accepted: each open parenthesis or bracket, `not` and unary `+`/`-` is a level.
pub const MAX_DEPTH: usize = 64;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal value (`'x'`, `1.5`, `None`, `True`, a list or tuple of literals).
    Literal(Value),
    /// A span field or attribute by dotted path (`llm.token_count.total`).
    Field(String),
    /// `not e`.
    Not(Box<Expr>),
    /// `a and b and …`: two or more operands, true when all are.
    And(Vec<Expr>),
    /// `a or b or …`: two or more operands, true when any is.
    Or(Vec<Expr>),
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

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// Nesting levels entered so far; see [`MAX_DEPTH`].
    depth: usize,
}

impl Parser {
    /// Runs `inner` one nesting level deeper, refusing to go past [`MAX_DEPTH`] before recursing.
    fn nested<T>(&mut self, inner: impl FnOnce(&mut Self) -> Result<T, String>) -> Result<T, String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!("condition is nested more than {MAX_DEPTH} levels deep"));
        }
        self.depth += 1;
        let out = inner(self);
        self.depth -= 1;
        out
    }

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
        let mut items = vec![self.and()?];
        while self.peek_name("or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::Or(items) })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.not()?];
        while self.peek_name("and") {
            self.pos += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::And(items) })
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.peek_name("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.nested(Self::not)?)));
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
            Tok::Op("-") | Tok::Op("+") => match self.nested(Self::atom)? {
                Expr::Literal(Value::Number(n)) if tok == Tok::Op("-") => Ok(Expr::Literal(match n.as_i64() {
                    Some(i) => Value::from(-i),
                    None => Value::from(-n.as_f64().unwrap_or(0.0)),
                })),
                e @ Expr::Literal(Value::Number(_)) => Ok(e),
                _ => Err("unary +/- applies only to numbers".into()),
            },
            Tok::Op("(") | Tok::Op("[") => {
                let close = if tok == Tok::Op("(") { ")" } else { "]" };
                let (items, tuple) = self.nested(|p| p.sequence(close))?;
                let mut items = items;
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

    /// The comma-separated items up to `close` (consumed), and whether they form a list or tuple.
    fn sequence(&mut self, close: &str) -> Result<(Vec<Expr>, bool), String> {
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
        Ok((items, tuple))
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

/// Parses a condition; the error says what is wrong with it (without quoting the condition).
/// Conditions over [`MAX_CONDITION_BYTES`], [`MAX_TOKENS`] or [`MAX_DEPTH`] are refused.
pub fn parse(text: &str) -> Result<Expr, String> {
    if text.len() > MAX_CONDITION_BYTES {
        return Err(format!("condition is {} bytes long; the limit is {MAX_CONDITION_BYTES}", text.len()));
    }
    let mut parser = Parser { toks: tokenize(text)?, pos: 0, depth: 0 };
    let expr = parser.or()?;
    if parser.pos != parser.toks.len() {
        return Err("unexpected trailing input".into());
    }
    Ok(expr)
}
