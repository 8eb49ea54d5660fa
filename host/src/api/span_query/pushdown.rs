//! Compiles a `where` condition of the span query DSL into a [`SpanCondition`] that the
//! database evaluates, as Phoenix compiles its DSL to SQL, so that a condition matching few
//! spans reads few rows instead of the whole project.
//!
//! The compiled condition always selects a superset of the spans the in-server evaluator
//! (`filter::matches`) keeps, and every row it selects is still checked by that evaluator, so
//! results never depend on what could be compiled. Where every part compiles the two agree
//! exactly ([`Pushdown::exact`]); what cannot be compiled (a field compared with a field, a bare
//! field's truthiness, `x in <attribute>`, array positions in paths, `events`) only widens the
//! condition, and then the request's scan budget bounds the rows read.

use serde_json::Value;

use super::filter::{CmpOp, Expr};
use crate::store::{Comparison, Literal, NumberColumn, Operand, SpanCondition, TextColumn};

/// Where the DSL reads a field from; shared with the evaluator's field lookup (`Span::field`)
/// so that both sides resolve a key the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source<'k> {
    Text(TextColumn),
    Number(NumberColumn),
    Events,
    /// A dotted path into the attributes, with input and output values merged in from their columns.
    Attribute(&'k str),
}

/// Resolves a DSL key: span fields first, then attributes (with or without `attributes.`).
pub(super) fn source(key: &str) -> Source<'_> {
    match key {
        "name" => Source::Text(TextColumn::Name),
        "span_kind" => Source::Text(TextColumn::SpanKind),
        "parent_id" => Source::Text(TextColumn::ParentId),
        "status_code" => Source::Text(TextColumn::StatusCode),
        "status_message" => Source::Text(TextColumn::StatusMessage),
        "start_time" => Source::Number(NumberColumn::StartNs),
        "end_time" => Source::Number(NumberColumn::EndNs),
        "latency_ms" => Source::Number(NumberColumn::LatencyMs),
        "span_id" | "context.span_id" => Source::Text(TextColumn::SpanId),
        "trace_id" | "context.trace_id" => Source::Text(TextColumn::TraceId),
        "events" => Source::Events,
        _ => Source::Attribute(key.strip_prefix("attributes.").unwrap_or(key)),
    }
}

/// The column an attribute path's string value is stored in, when ingest moves it there.
fn moved_column(path: &str) -> Option<TextColumn> {
    match path {
        "input.value" => Some(TextColumn::InputValue),
        "input.mime_type" => Some(TextColumn::InputMimeType),
        "output.value" => Some(TextColumn::OutputValue),
        "output.mime_type" => Some(TextColumn::OutputMimeType),
        _ => None,
    }
}

/// A compiled condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Pushdown {
    pub condition: SpanCondition,
    /// The database selects exactly the spans the evaluator keeps, not a superset.
    pub exact: bool,
}

/// Compiles `expr`; a condition nothing of which compiles gives "every span", inexact.
pub fn compile(expr: &Expr) -> Pushdown {
    match boolean(expr) {
        Some((condition, exact)) => Pushdown { condition, exact },
        None => Pushdown { condition: SpanCondition::All(Vec::new()), exact: false },
    }
}

/// A compiled part: the condition and whether it is exact. `None` means "cannot constrain".
type Part = Option<(SpanCondition, bool)>;

fn always(value: bool) -> SpanCondition {
    if value {
        SpanCondition::All(Vec::new())
    } else {
        SpanCondition::Any(Vec::new())
    }
}

fn not(condition: SpanCondition) -> SpanCondition {
    SpanCondition::Not(Box::new(condition))
}

/// The negation of an exact part; the negation of a superset would be a subset, so not that.
fn negate(part: Part) -> Part {
    match part {
        Some((condition, true)) => Some((not(condition), true)),
        _ => None,
    }
}

/// `present and not part`, when `part` is exact.
fn present_and_not(present: SpanCondition, part: Part) -> Part {
    let (negated, exact) = negate(part)?;
    Some((SpanCondition::All(vec![present, negated]), exact))
}

fn boolean(expr: &Expr) -> Part {
    match expr {
        Expr::Literal(value) => Some((always(truthy_literal(value)), true)),
        Expr::Field(_) => None,
        Expr::Not(inner) => negate(boolean(inner)),
        Expr::And(items) => {
            let compiled: Vec<Part> = items.iter().map(boolean).collect();
            let exact = compiled.iter().all(|p| matches!(p, Some((_, true))));
            let parts: Vec<SpanCondition> = compiled.into_iter().flatten().map(|(c, _)| c).collect();
            (!parts.is_empty()).then_some((SpanCondition::All(parts), exact))
        }
        Expr::Or(items) => {
            let compiled = items.iter().map(boolean).collect::<Option<Vec<_>>>()?;
            let exact = compiled.iter().all(|(_, e)| *e);
            Some((SpanCondition::Any(compiled.into_iter().map(|(c, _)| c).collect()), exact))
        }
        Expr::Compare(first, links) => {
            let mut left: &Expr = first;
            let mut parts = Vec::new();
            let mut exact = true;
            for (op, right) in links {
                match link(left, *op, right) {
                    Some((condition, e)) => {
                        parts.push(condition);
                        exact &= e;
                    }
                    None => exact = false,
                }
                left = right;
            }
            match parts.len() {
                0 => None,
                1 => parts.pop().map(|c| (c, exact)),
                _ => Some((SpanCondition::All(parts), exact)),
            }
        }
    }
}

fn truthy_literal(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// One comparison of a chain: a field against a literal, either way round.
fn link(left: &Expr, op: CmpOp, right: &Expr) -> Part {
    match (left, right) {
        (Expr::Field(key), Expr::Literal(value)) => field_op_literal(key, op, value),
        (Expr::Literal(value), Expr::Field(key)) => literal_op_field(value, op, key),
        _ => None,
    }
}

/// The operands a key compiles to: one, or for input/output values the column when it is set
/// and the attribute when it is not (ingest moves string values to the column).
fn on_operands(key: &str, atom: &dyn Fn(Operand) -> Part) -> Part {
    match source(key) {
        Source::Text(column) => atom(Operand::Text(column)),
        Source::Number(column) => atom(Operand::Number(column)),
        Source::Events => None,
        Source::Attribute(path) => {
            let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
            if segments.iter().any(|s| s.is_empty() || s.bytes().all(|b| b.is_ascii_digit())) {
                return None;
            }
            let attribute = atom(Operand::Attribute(segments));
            match moved_column(path) {
                None => attribute,
                Some(column) => {
                    let (in_column, column_exact) = atom(Operand::Text(column))?;
                    let set = SpanCondition::Present(Operand::Text(column));
                    let (in_attribute, attribute_exact) = attribute.unwrap_or((SpanCondition::All(Vec::new()), false));
                    let merged = SpanCondition::Any(vec![
                        SpanCondition::All(vec![set.clone(), in_column]),
                        SpanCondition::All(vec![not(set), in_attribute]),
                    ]);
                    Some((merged, column_exact && attribute_exact))
                }
            }
        }
    }
}

/// The literal as a typed value for comparisons; `None` for lists and objects.
fn typed(value: &Value) -> Option<Literal> {
    match value {
        Value::String(s) => Some(Literal::Text(s.clone())),
        Value::Number(n) => n.as_f64().map(Literal::Number),
        Value::Bool(b) => Some(Literal::Bool(*b)),
        _ => None,
    }
}

/// `field == value` as the evaluator's `equal` means it (null equals only null).
fn equals(operand: Operand, value: &Value) -> Part {
    if value.is_null() {
        return Some((not(SpanCondition::Present(operand)), true));
    }
    Some((SpanCondition::Compare(operand, Comparison::Eq, typed(value)?), true))
}

fn field_op_literal(key: &str, op: CmpOp, value: &Value) -> Part {
    on_operands(key, &|operand: Operand| {
        let present = SpanCondition::Present(operand.clone());
        match op {
            CmpOp::Eq | CmpOp::Is => equals(operand, value),
            CmpOp::IsNot => negate(equals(operand, value)),
            // Null on the left is never unequal.
            CmpOp::Ne => present_and_not(present, equals(operand, value)),
            CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => ordered(operand, op, value),
            CmpOp::In => member_of(operand, value),
            CmpOp::NotIn => {
                if value.is_null() {
                    return Some((always(false), true));
                }
                present_and_not(present, member_of(operand, value))
            }
        }
    })
}

/// `field < value` and the like: numbers with numbers, text with text, anything else false.
fn ordered(operand: Operand, op: CmpOp, value: &Value) -> Part {
    let comparison = match op {
        CmpOp::Lt => Comparison::Lt,
        CmpOp::Le => Comparison::Le,
        CmpOp::Gt => Comparison::Gt,
        _ => Comparison::Ge,
    };
    match typed(value) {
        Some(literal @ (Literal::Text(_) | Literal::Number(_))) => {
            Some((SpanCondition::Compare(operand, comparison, literal), true))
        }
        _ => Some((always(false), true)),
    }
}

/// `field in value`: membership in a list literal. A text literal (substring of it) or an
/// object literal does not compile; other literals contain nothing.
fn member_of(operand: Operand, value: &Value) -> Part {
    match value {
        Value::Array(items) => {
            let parts = items.iter().map(|item| equals(operand.clone(), item)).collect::<Option<Vec<_>>>()?;
            Some((SpanCondition::Any(parts.into_iter().map(|(c, _)| c).collect()), true))
        }
        Value::String(_) | Value::Object(_) => None,
        _ => Some((always(false), true)),
    }
}

fn literal_op_field(value: &Value, op: CmpOp, key: &str) -> Part {
    let flipped = match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        CmpOp::Eq | CmpOp::Is | CmpOp::IsNot => op,
        // A non-null literal is unequal to everything it does not equal, null fields included.
        CmpOp::Ne => {
            if value.is_null() {
                return Some((always(false), true));
            }
            return negate(field_op_literal(key, CmpOp::Eq, value));
        }
        CmpOp::In => return contains(value, key),
        CmpOp::NotIn => {
            if value.is_null() {
                return Some((always(false), true));
            }
            let (present, _) = on_operands(key, &|operand: Operand| Some((SpanCondition::Present(operand), true)))?;
            return present_and_not(present, contains(value, key));
        }
    };
    field_op_literal(key, flipped, value)
}

/// `value in field`: a substring of a text column. In an attribute the value could also be a
/// list element or an object key, so there it compiles only to "the attribute is set".
fn contains(value: &Value, key: &str) -> Part {
    on_operands(key, &|operand: Operand| match (&operand, value) {
        (Operand::Text(_), Value::String(needle)) => Some((SpanCondition::Contains(operand, needle.clone()), true)),
        (Operand::Text(_) | Operand::Number(_), _) => Some((always(false), true)),
        (Operand::Attribute(_), _) => Some((SpanCondition::Present(operand), false)),
    })
}

#[cfg(test)]
mod tests;
