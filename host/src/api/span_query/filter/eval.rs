//! Evaluates a parsed condition for one span. Recursion follows the tree, whose depth the parser
//! bounds (`and`/`or` chains are flat lists), so evaluation cannot run out of stack.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use super::{CmpOp, Expr};

/// Evaluates `expr` for one span, `field` resolving a dotted path to its value (null if absent).
pub fn matches(expr: &Expr, field: &dyn Fn(&str) -> Value) -> bool {
    truthy(&eval(expr, field))
}

/// The value of `expr`; literals are borrowed, not copied per span.
fn eval<'e>(expr: &'e Expr, field: &dyn Fn(&str) -> Value) -> Cow<'e, Value> {
    match expr {
        Expr::Literal(v) => Cow::Borrowed(v),
        Expr::Field(path) => Cow::Owned(field(path)),
        Expr::Not(e) => Cow::Owned(Value::Bool(!matches(e, field))),
        Expr::And(items) => Cow::Owned(Value::Bool(items.iter().all(|e| matches(e, field)))),
        Expr::Or(items) => Cow::Owned(Value::Bool(items.iter().any(|e| matches(e, field)))),
        Expr::Compare(first, links) => {
            let mut left = eval(first, field);
            for (op, right) in links {
                let right = eval(right, field);
                if !compare(*op, &left, &right) {
                    return Cow::Owned(Value::Bool(false));
                }
                left = right;
            }
            Cow::Owned(Value::Bool(true))
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
