//! A small SQL builder that renders one query for either dialect.
//!
//! Queries are written once; the builder numbers PostgreSQL placeholders (`$1`, `$2::jsonb`)
//! and uses `?` for SQLite, and the parameters bind the same way on both.

use sqlx::{Arguments, Database, Encode, Type};

/// Which SQL dialect a store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A bound parameter, borrowed where possible so that batch inserts copy no span text.
#[derive(Debug, Clone)]
pub enum Param<'a> {
    I64(i64),
    OptI64(Option<i64>),
    F64(f64),
    OptF64(Option<f64>),
    Str(&'a str),
    OptStr(Option<&'a str>),
    Owned(String),
    Bytes(&'a [u8]),
}

/// SQL text plus its parameters, rendered for one dialect.
#[derive(Debug)]
pub struct Sql<'a> {
    dialect: Dialect,
    text: String,
    params: Vec<Param<'a>>,
}

impl<'a> Sql<'a> {
    /// An empty query for `dialect`.
    pub fn new(dialect: Dialect) -> Self {
        Self { dialect, text: String::with_capacity(256), params: Vec::new() }
    }

    /// Appends raw SQL.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder and binds `param` to it.
    pub fn bind(&mut self, param: Param<'a>) -> &mut Self {
        self.params.push(param);
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.params.len().to_string());
            }
        }
        self
    }

    /// Appends a placeholder for a JSON document (JSONB on PostgreSQL, text on SQLite).
    pub fn bind_json(&mut self, json: &'a str) -> &mut Self {
        self.bind(Param::Str(json));
        if self.dialect == Dialect::Postgres {
            self.text.push_str("::jsonb");
        }
        self
    }

    /// Appends `(?, ?, …)` binding every value of `values`.
    pub fn bind_list(&mut self, values: impl IntoIterator<Item = Param<'a>>) -> &mut Self {
        self.text.push('(');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value);
        }
        self.text.push(')');
        self
    }

    /// Appends ` AND (column IS NULL OR column NOT IN (…))` for the project ids a caller must
    /// not see; nothing when `hidden` is empty (the common case costs nothing).
    pub fn exclude_ids(&mut self, column: &str, hidden: &[i64]) -> &mut Self {
        if !hidden.is_empty() {
            self.text.push_str(&format!(" AND ({column} IS NULL OR {column} NOT IN "));
            self.bind_list(hidden.iter().map(|id| Param::I64(*id)));
            self.text.push(')');
        }
        self
    }

    /// The dialect placeholders are rendered for.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The SQL text rendered so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How many parameters are bound.
    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// Builds the driver's argument list for this query.
    pub fn arguments<DB>(&self) -> Result<<DB as Database>::Arguments<'a>, sqlx::Error>
    where
        DB: Database,
        i64: for<'q> Encode<'q, DB> + Type<DB>,
        f64: for<'q> Encode<'q, DB> + Type<DB>,
        String: for<'q> Encode<'q, DB> + Type<DB>,
        &'a str: Encode<'a, DB> + Type<DB>,
        Option<i64>: for<'q> Encode<'q, DB> + Type<DB>,
        Option<f64>: for<'q> Encode<'q, DB> + Type<DB>,
        Option<&'a str>: Encode<'a, DB> + Type<DB>,
        &'a [u8]: Encode<'a, DB> + Type<DB>,
    {
        let mut args = <DB as Database>::Arguments::<'a>::default();
        for param in &self.params {
            let added = match param {
                Param::I64(v) => args.add(*v),
                Param::OptI64(v) => args.add(*v),
                Param::F64(v) => args.add(*v),
                Param::OptF64(v) => args.add(*v),
                Param::Str(v) => args.add(*v),
                Param::OptStr(v) => args.add(*v),
                Param::Owned(v) => args.add(v.clone()),
                Param::Bytes(v) => args.add(*v),
            };
            added.map_err(sqlx::Error::Encode)?;
        }
        Ok(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_placeholders_are_numbered_and_json_is_cast() {
        let mut sql = Sql::new(Dialect::Postgres);
        sql.push("INSERT INTO t VALUES ").bind_list([Param::I64(1), Param::Str("a")]).push(", ").bind_json("{}");
        assert_eq!(sql.text(), "INSERT INTO t VALUES ($1, $2), $3::jsonb");
        assert_eq!(sql.param_count(), 3);
    }

    #[test]
    fn sqlite_placeholders_are_anonymous() {
        let mut sql = Sql::new(Dialect::Sqlite);
        sql.push("SELECT ").bind(Param::I64(1)).push(", ").bind_json("[]");
        assert_eq!(sql.text(), "SELECT ?, ?");
    }
}
