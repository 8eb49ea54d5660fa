//! A condition on spans that the database evaluates: what the span query DSL compiles to
//! (`api::span_query::pushdown`), rendered into the `WHERE` of a span listing.
//!
//! Every condition is two-valued: an absent attribute, a SQL `NULL` or a value of another JSON
//! type makes a comparison false, never `NULL`, so `Not` negates exactly. Comparisons follow the
//! DSL's own evaluator: numbers compare as 64-bit floats (integers are converted first, as
//! `serde_json` converts them), text compares bytewise (SQLite's `BINARY` collation, `"C"` on
//! PostgreSQL), and values of different types are never equal.

use super::sql::{Dialect, Param, Sql};

/// A text column of `spans`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextColumn {
    Name,
    SpanKind,
    ParentId,
    StatusCode,
    StatusMessage,
    SpanId,
    TraceId,
    InputValue,
    InputMimeType,
    OutputValue,
    OutputMimeType,
}

impl TextColumn {
    fn sql(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::SpanKind => "span_kind",
            Self::ParentId => "parent_id",
            Self::StatusCode => "status_code",
            Self::StatusMessage => "status_message",
            Self::SpanId => "span_id",
            Self::TraceId => "trace_id",
            Self::InputValue => "input_value",
            Self::InputMimeType => "input_mime_type",
            Self::OutputValue => "output_value",
            Self::OutputMimeType => "output_mime_type",
        }
    }

    fn nullable(self) -> bool {
        matches!(
            self,
            Self::ParentId | Self::InputValue | Self::InputMimeType | Self::OutputValue | Self::OutputMimeType
        )
    }
}

/// A numeric column of `spans`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberColumn {
    StartNs,
    EndNs,
    LatencyMs,
}

impl NumberColumn {
    fn sql(self) -> &'static str {
        match self {
            Self::StartNs => "start_ns",
            Self::EndNs => "end_ns",
            Self::LatencyMs => "latency_ms",
        }
    }
}

/// What a condition reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(TextColumn),
    Number(NumberColumn),
    /// A path into the span's attributes. Segments made only of digits are refused by the
    /// compiler: SQLite's JSON paths cannot say "a key or an array position" as the DSL means.
    Attribute(Vec<String>),
}

/// A value compared against.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
}

/// How an operand compares with a literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparison {
    fn sql(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// A condition on one span.
#[derive(Debug, Clone, PartialEq)]
pub enum SpanCondition {
    /// True when every part is (and when there are none).
    All(Vec<SpanCondition>),
    /// True when some part is (false when there are none).
    Any(Vec<SpanCondition>),
    Not(Box<SpanCondition>),
    /// The operand holds a value other than null.
    Present(Operand),
    /// The operand holds a value of the literal's type that compares as asked. Booleans only
    /// compare for equality.
    Compare(Operand, Comparison, Literal),
    /// The operand holds text containing the needle.
    Contains(Operand, String),
}

/// Appends `filter` as one parenthesised boolean SQL expression.
pub(super) fn render<'a>(sql: &mut Sql<'a>, filter: &'a SpanCondition) {
    let dialect = sql.dialect();
    let (yes, no) = match dialect {
        Dialect::Sqlite => ("1", "0"),
        Dialect::Postgres => ("TRUE", "FALSE"),
    };
    match filter {
        SpanCondition::All(parts) | SpanCondition::Any(parts) if parts.is_empty() => {
            sql.push(if matches!(filter, SpanCondition::All(_)) { yes } else { no });
        }
        SpanCondition::All(parts) | SpanCondition::Any(parts) => {
            let joiner = if matches!(filter, SpanCondition::All(_)) { " AND " } else { " OR " };
            sql.push("(");
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    sql.push(joiner);
                }
                render(sql, part);
            }
            sql.push(")");
        }
        SpanCondition::Not(inner) => {
            sql.push("(NOT ");
            render(sql, inner);
            sql.push(")");
        }
        SpanCondition::Present(Operand::Text(column)) => {
            sql.push(&format!("({} IS NOT NULL)", column.sql()));
        }
        SpanCondition::Present(Operand::Number(_)) => {
            sql.push(yes);
        }
        SpanCondition::Present(Operand::Attribute(path)) => {
            sql.push("COALESCE(");
            json_type(sql, path);
            sql.push(&format!(" <> 'null', {no})"));
        }
        SpanCondition::Compare(operand, comparison, literal) => compare(sql, operand, *comparison, literal, no),
        SpanCondition::Contains(operand, needle) => {
            let find = match dialect {
                Dialect::Sqlite => "instr",
                Dialect::Postgres => "strpos",
            };
            match operand {
                Operand::Text(column) => {
                    sql.push(&format!("COALESCE({find}({}, ", column.sql()));
                }
                Operand::Attribute(path) => {
                    sql.push("COALESCE(");
                    json_type(sql, path);
                    sql.push(&format!(" = '{}' AND {find}(", text_type(dialect)));
                    text_value(sql, path);
                    sql.push(", ");
                }
                Operand::Number(_) => {
                    sql.push(no);
                    return;
                }
            }
            sql.bind(Param::Str(needle)).push(&format!(") > 0, {no})"));
        }
    }
}

fn compare<'a>(sql: &mut Sql<'a>, operand: &'a Operand, comparison: Comparison, literal: &'a Literal, no: &str) {
    let dialect = sql.dialect();
    let op = comparison.sql();
    let collate = if dialect == Dialect::Postgres { " COLLATE \"C\"" } else { "" };
    match (operand, literal) {
        (Operand::Text(column), Literal::Text(text)) => {
            let (open, close) =
                if column.nullable() { ("COALESCE(", format!(", {no})")) } else { ("(", ")".to_owned()) };
            sql.push(open).push(column.sql());
            if comparison != Comparison::Eq {
                sql.push(collate);
            }
            sql.push(&format!(" {op} ")).bind(Param::Str(text)).push(&close);
        }
        (Operand::Number(column), Literal::Number(n)) => {
            sql.push(&format!("(CAST({} AS {}) {op} ", column.sql(), real(dialect))).bind(Param::F64(*n)).push(")");
        }
        (Operand::Attribute(path), Literal::Text(text)) => {
            sql.push("COALESCE(");
            json_type(sql, path);
            sql.push(&format!(" = '{}' AND ", text_type(dialect)));
            text_value(sql, path);
            if comparison != Comparison::Eq {
                sql.push(collate);
            }
            sql.push(&format!(" {op} ")).bind(Param::Str(text)).push(&format!(", {no})"));
        }
        (Operand::Attribute(path), Literal::Number(n)) => {
            // CASE, not AND: PostgreSQL may evaluate an AND's operands in any order, and casting
            // a JSON string to a number is an error.
            sql.push("(CASE WHEN ");
            json_type(sql, path);
            let numbers = match dialect {
                Dialect::Sqlite => " IN ('integer', 'real') THEN CAST(",
                Dialect::Postgres => " = 'number' THEN CAST(",
            };
            sql.push(numbers);
            json_value(sql, path);
            sql.push(&format!(" AS {}) {op} ", real(dialect))).bind(Param::F64(*n)).push(&format!(" ELSE {no} END)"));
        }
        (Operand::Attribute(path), Literal::Bool(b)) if comparison == Comparison::Eq => {
            sql.push("COALESCE(");
            json_type(sql, path);
            let name = if *b { "true" } else { "false" };
            let expected = match dialect {
                Dialect::Sqlite => name,
                Dialect::Postgres => "boolean",
            };
            sql.push(&format!(" = '{expected}'"));
            if dialect == Dialect::Postgres {
                sql.push(" AND ");
                text_value(sql, path);
                sql.push(&format!(" = '{name}'"));
            }
            sql.push(&format!(", {no})"));
        }
        // A column never holds a value of another type, and booleans have no order: false.
        _ => {
            sql.push(no);
        }
    }
}

fn real(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "REAL",
        Dialect::Postgres => "DOUBLE PRECISION",
    }
}

fn text_type(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "text",
        Dialect::Postgres => "string",
    }
}

/// SQLite's JSON path for `path` (`$."a"."b"`), or PostgreSQL's `text[]` literal (`{"a","b"}`).
fn path_param(dialect: Dialect, path: &[String]) -> String {
    match dialect {
        Dialect::Sqlite => {
            let mut out = String::from("$");
            for segment in path {
                out.push_str(&format!(".\"{}\"", segment.replace('"', "\\\"")));
            }
            out
        }
        Dialect::Postgres => {
            let quoted: Vec<String> =
                path.iter().map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))).collect();
            format!("{{{}}}", quoted.join(","))
        }
    }
}

/// The JSON value at `path` (NULL when absent).
fn json_value(sql: &mut Sql<'_>, path: &[String]) {
    let dialect = sql.dialect();
    match dialect {
        Dialect::Sqlite => {
            sql.push("json_extract(attributes, ").bind(Param::Owned(path_param(dialect, path))).push(")");
        }
        Dialect::Postgres => {
            sql.push("(attributes #> CAST(").bind(Param::Owned(path_param(dialect, path))).push(" AS text[]))");
        }
    }
}

/// The JSON type name of the value at `path` (NULL when absent).
fn json_type(sql: &mut Sql<'_>, path: &[String]) {
    let dialect = sql.dialect();
    match dialect {
        Dialect::Sqlite => {
            sql.push("json_type(attributes, ").bind(Param::Owned(path_param(dialect, path))).push(")");
        }
        Dialect::Postgres => {
            sql.push("jsonb_typeof(");
            json_value(sql, path);
            sql.push(")");
        }
    }
}

/// The value at `path` as SQL text: a JSON string's contents (other types as JSON text).
fn text_value(sql: &mut Sql<'_>, path: &[String]) {
    let dialect = sql.dialect();
    match dialect {
        Dialect::Sqlite => json_value(sql, path),
        Dialect::Postgres => {
            sql.push("(attributes #>> CAST(").bind(Param::Owned(path_param(dialect, path))).push(" AS text[]))");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(dialect: Dialect, condition: &SpanCondition) -> String {
        let mut sql = Sql::new(dialect);
        render(&mut sql, condition);
        sql.text().to_owned()
    }

    #[test]
    fn a_not_null_column_compares_plainly_so_its_index_serves() {
        let error = SpanCondition::Compare(
            Operand::Text(TextColumn::StatusCode),
            Comparison::Eq,
            Literal::Text("ERROR".into()),
        );
        assert_eq!(rendered(Dialect::Sqlite, &error), "(status_code = ?)");
        assert_eq!(rendered(Dialect::Postgres, &error), "(status_code = $1)");
        let parent =
            SpanCondition::Compare(Operand::Text(TextColumn::ParentId), Comparison::Lt, Literal::Text("a".into()));
        assert_eq!(rendered(Dialect::Postgres, &parent), "COALESCE(parent_id COLLATE \"C\" < $1, FALSE)");
    }

    #[test]
    fn empty_lists_are_constants() {
        assert_eq!(rendered(Dialect::Sqlite, &SpanCondition::All(Vec::new())), "1");
        assert_eq!(rendered(Dialect::Postgres, &SpanCondition::Any(Vec::new())), "FALSE");
    }
}
