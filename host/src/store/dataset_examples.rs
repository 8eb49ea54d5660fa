//! Dataset examples: reading them as of a version, and writing a new version (create, append,
//! declarative update, or examples taken from spans) in one transaction.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::{Number, Value};

use super::datasets::json_text;
use super::sql::{Dialect, Param};
use super::tx::Tx;
use super::write::span_key;
use super::{Result, Store, StoreError};
use crate::time::now_ns;

/// One example as of a dataset version, its JSON columns as text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExampleRow {
    pub id: i64,
    /// The span the example was taken from (hex span id), if any.
    pub span_id: Option<String>,
    /// Row id of that span when it is still stored (filled by `examples_at_version`).
    #[sqlx(skip)]
    pub span_rowid: Option<i64>,
    pub input: String,
    pub output: String,
    pub metadata: String,
    /// When the example's revision in effect at the version was written.
    pub updated_ns: i64,
}

/// An example to write: JSON object texts for input, output and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExample {
    pub input: String,
    pub output: String,
    pub metadata: String,
    pub span_id: Option<String>,
}

/// How an upload changes a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadAction {
    /// A new dataset; a taken name is `StoreError::DatasetExists`.
    Create,
    /// Adds the examples as a new version (creating the dataset when missing).
    Append,
    /// Declarative: the new version holds exactly the uploaded examples; unchanged examples keep
    /// their ids, missing ones are deleted, new ones created. No change makes no version.
    Update,
}

/// What an upload wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadOutcome {
    pub dataset_id: i64,
    pub version_id: i64,
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
}

/// The SELECT of examples as of version `?` of dataset `?` (bound in that order: version, dataset).
fn examples_query(dialect: Dialect) -> String {
    format!(
        "SELECT e.id, e.span_id, {}, {}, {}, r.created_ns AS updated_ns \
         FROM dataset_examples e JOIN dataset_example_revisions r ON r.example_id = e.id \
         WHERE r.id = (SELECT r2.id FROM dataset_example_revisions r2 WHERE r2.example_id = e.id \
                       AND r2.version_id <= ",
        json_text(dialect, "r.input", "input"),
        json_text(dialect, "r.output", "output"),
        json_text(dialect, "r.metadata", "metadata"),
    )
}

impl Store {
    /// The examples of `dataset_id` as of `version_id`, oldest first.
    pub async fn examples_at_version(&self, dataset_id: i64, version_id: i64) -> Result<Vec<ExampleRow>> {
        let head = examples_query(self.dialect());
        let mut sql = self.sql();
        sql.push(&head)
            .bind(Param::I64(version_id))
            .push(" ORDER BY r2.version_id DESC LIMIT 1) AND r.kind <> 'DELETE' AND e.dataset_id = ")
            .bind(Param::I64(dataset_id))
            .push(" ORDER BY e.id");
        let mut rows: Vec<ExampleRow> = self.fetch_all(&sql).await?;
        self.fill_span_rowids(&mut rows).await?;
        Ok(rows)
    }

    /// Whether example `example_id` of the dataset exists (not deleted) as of `version_id`: one
    /// indexed lookup, for checking each posted run.
    pub async fn example_in_version(&self, dataset_id: i64, version_id: i64, example_id: i64) -> Result<bool> {
        let mut sql = self.sql();
        sql.push("SELECT r.kind FROM dataset_example_revisions r JOIN dataset_examples e ON e.id = r.example_id WHERE e.id = ")
            .bind(Param::I64(example_id))
            .push(" AND e.dataset_id = ")
            .bind(Param::I64(dataset_id))
            .push(" AND r.version_id <= ")
            .bind(Param::I64(version_id))
            .push(" ORDER BY r.version_id DESC LIMIT 1");
        let row: Option<(String,)> = self.fetch_optional(&sql).await?;
        Ok(row.is_some_and(|(kind,)| kind != "DELETE"))
    }

    /// Looks up the row ids of the spans examples were taken from, by the indexed span key.
    async fn fill_span_rowids(&self, rows: &mut [ExampleRow]) -> Result<()> {
        let keys: Vec<i64> = rows.iter().filter_map(|r| r.span_id.as_deref().and_then(span_key)).collect();
        let mut found = HashMap::new();
        for chunk in keys.chunks(500) {
            let mut sql = self.sql();
            sql.push("SELECT span_key, id FROM spans WHERE span_key IN ")
                .bind_list(chunk.iter().map(|k| Param::I64(*k)));
            let pairs: Vec<(i64, i64)> = self.fetch_all(&sql).await?;
            found.extend(pairs);
        }
        for row in rows {
            row.span_rowid = row.span_id.as_deref().and_then(span_key).and_then(|k| found.get(&k).copied());
        }
        Ok(())
    }

    /// Writes `examples` to the dataset named `name` as `action` says, in one transaction. A new
    /// dataset records `project_id`, the project its examples' spans came from.
    pub async fn upload_examples(
        &self,
        action: UploadAction,
        name: &str,
        description: Option<&str>,
        examples: &[NewExample],
        project_id: Option<i64>,
    ) -> Result<UploadOutcome> {
        let now = now_ns();
        let mut tx = self.begin().await?;
        let mut sql = tx.sql();
        sql.push("INSERT INTO datasets (name, description, metadata, created_ns, updated_ns, project_id) VALUES (")
            .bind(Param::Str(name))
            .push(", ")
            .bind(Param::OptStr(description))
            .push(", ")
            .bind_json("{}")
            .push(", ")
            .bind(Param::I64(now))
            .push(", ")
            .bind(Param::I64(now))
            .push(", ")
            .bind(Param::OptI64(project_id))
            .push(") ON CONFLICT (name) DO NOTHING RETURNING id");
        let inserted: Option<(i64,)> = tx.fetch_optional(&sql).await?;
        let (dataset_id, existed) = match inserted {
            Some((id,)) => (id, false),
            None if action == UploadAction::Create => return Err(StoreError::DatasetExists(name.to_owned())),
            None => {
                let mut sql = tx.sql();
                sql.push("SELECT id FROM datasets WHERE name = ").bind(Param::Str(name));
                (tx.returning_id(&sql).await?, true)
            }
        };
        let outcome = if action == UploadAction::Update && existed {
            update_examples(&mut tx, dataset_id, examples, now).await?
        } else {
            let version_id = insert_version(&mut tx, dataset_id, now).await?;
            insert_examples(&mut tx, dataset_id, version_id, examples.iter(), now).await?;
            UploadOutcome { dataset_id, version_id, created: examples.len(), updated: 0, deleted: 0 }
        };
        if existed {
            let mut sql = tx.sql();
            sql.push("UPDATE datasets SET updated_ns = ").bind(Param::I64(now));
            if let Some(description) = description.filter(|d| !d.is_empty()) {
                sql.push(", description = ").bind(Param::Str(description));
            }
            sql.push(" WHERE id = ").bind(Param::I64(dataset_id));
            tx.execute(&sql).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Adds `examples` to an existing dataset as a new version, in one transaction; a dataset
    /// that names no project yet records `project_id`.
    pub async fn append_examples(
        &self,
        dataset_id: i64,
        examples: &[NewExample],
        project_id: Option<i64>,
    ) -> Result<UploadOutcome> {
        let now = now_ns();
        let mut tx = self.begin().await?;
        let version_id = insert_version(&mut tx, dataset_id, now).await?;
        insert_examples(&mut tx, dataset_id, version_id, examples.iter(), now).await?;
        let mut sql = tx.sql();
        sql.push("UPDATE datasets SET updated_ns = ")
            .bind(Param::I64(now))
            .push(", project_id = COALESCE(project_id, ")
            .bind(Param::OptI64(project_id))
            .push(") WHERE id = ")
            .bind(Param::I64(dataset_id));
        tx.execute(&sql).await?;
        tx.commit().await?;
        Ok(UploadOutcome { dataset_id, version_id, created: examples.len(), updated: 0, deleted: 0 })
    }
}

async fn insert_version(tx: &mut Tx, dataset_id: i64, now: i64) -> Result<i64> {
    let mut sql = tx.sql();
    sql.push("INSERT INTO dataset_versions (dataset_id, description, metadata, created_ns) VALUES (")
        .bind(Param::I64(dataset_id))
        .push(", NULL, ")
        .bind_json("{}")
        .push(", ")
        .bind(Param::I64(now))
        .push(") RETURNING id");
    tx.returning_id(&sql).await
}

/// Rows per multi-row INSERT: at most 7 parameters a row, 3,500 a statement, well under
/// SQLite's 32,766 and PostgreSQL's 65,535.
const CHUNK: usize = 500;

/// The content of one revision to write.
struct Revision<'a> {
    example_id: i64,
    input: &'a str,
    output: &'a str,
    metadata: &'a str,
}

/// Creates `examples` with their CREATE revisions at `version_id`: two multi-row statements per
/// `CHUNK` examples.
///
/// The ids `RETURNING` gives back are matched to the examples by sorting them: within one
/// multi-row INSERT the rows are inserted in VALUES order, each taking the next AUTOINCREMENT
/// rowid (SQLite) or the next identity value (PostgreSQL, whose sequence values only increase
/// within a session), so ascending ids are in VALUES order whatever order RETURNING uses.
async fn insert_examples<'a>(
    tx: &mut Tx,
    dataset_id: i64,
    version_id: i64,
    examples: impl Iterator<Item = &'a NewExample>,
    now: i64,
) -> Result<()> {
    let examples: Vec<&NewExample> = examples.collect();
    for chunk in examples.chunks(CHUNK) {
        let mut sql = tx.sql();
        sql.push("INSERT INTO dataset_examples (dataset_id, span_id, created_ns) VALUES ");
        for (i, example) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_list([Param::I64(dataset_id), Param::OptStr(example.span_id.as_deref()), Param::I64(now)]);
        }
        sql.push(" RETURNING id");
        let rows: Vec<(i64,)> = tx.fetch_all(&sql).await?;
        if rows.len() != chunk.len() {
            return Err(StoreError::Database(sqlx::Error::RowNotFound));
        }
        let mut ids: Vec<i64> = rows.into_iter().map(|(id,)| id).collect();
        ids.sort_unstable();
        let revisions: Vec<Revision<'_>> = ids
            .iter()
            .zip(chunk)
            .map(|(id, e)| Revision { example_id: *id, input: &e.input, output: &e.output, metadata: &e.metadata })
            .collect();
        insert_revisions(tx, version_id, &revisions, "CREATE", now).await?;
    }
    Ok(())
}

/// Writes `revisions` of kind `kind` at `version_id`, one multi-row statement per `CHUNK`.
async fn insert_revisions(
    tx: &mut Tx,
    version_id: i64,
    revisions: &[Revision<'_>],
    kind: &'static str,
    now: i64,
) -> Result<()> {
    for chunk in revisions.chunks(CHUNK) {
        let mut sql = tx.sql();
        sql.push(
            "INSERT INTO dataset_example_revisions (example_id, version_id, input, output, metadata, kind, \
             created_ns) VALUES ",
        );
        for (i, revision) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(Param::I64(revision.example_id))
                .push(", ")
                .bind(Param::I64(version_id))
                .push(", ")
                .bind_json(revision.input)
                .push(", ")
                .bind_json(revision.output)
                .push(", ")
                .bind_json(revision.metadata)
                .push(", ")
                .bind(Param::Str(kind))
                .push(", ")
                .bind(Param::I64(now))
                .push(")");
        }
        tx.execute(&sql).await?;
    }
    Ok(())
}

/// The content of an example as canonical JSON texts, for matching by hash. serde_json's maps are
/// sorted (its `preserve_order` feature is off), so texts are equal exactly when the parsed
/// values are (PostgreSQL reorders JSONB keys), once negative zero, equal to zero as a value
/// but printed differently, is made zero.
fn content(input: &str, output: &str, metadata: &str) -> (String, String, String) {
    let canonical = |text: &str| {
        let mut value = serde_json::from_str(text).unwrap_or(Value::Null);
        zero_sign(&mut value);
        value.to_string()
    };
    (canonical(input), canonical(output), canonical(metadata))
}

/// Replaces every `-0.0` in `value` with `0.0`.
fn zero_sign(value: &mut Value) {
    match value {
        Value::Number(n) if n.as_f64() == Some(0.0) && n.is_f64() => {
            if let Some(zero) = Number::from_f64(0.0) {
                *n = zero;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(zero_sign),
        Value::Object(map) => map.values_mut().for_each(zero_sign),
        _ => {}
    }
}

/// Declarative update: keep examples whose content is uploaded again, delete the others, create
/// the rest. A no-op makes no version and reports the latest one.
async fn update_examples(tx: &mut Tx, dataset_id: i64, examples: &[NewExample], now: i64) -> Result<UploadOutcome> {
    let mut sql = tx.sql();
    sql.push("SELECT MAX(id) FROM dataset_versions WHERE dataset_id = ").bind(Param::I64(dataset_id));
    let latest: Option<(Option<i64>,)> = tx.fetch_optional(&sql).await?;
    let latest = latest.and_then(|(id,)| id).unwrap_or(0);
    let head = examples_query(tx.dialect());
    let mut sql = tx.sql();
    sql.push(&head)
        .bind(Param::I64(latest))
        .push(" ORDER BY r2.version_id DESC LIMIT 1) AND r.kind <> 'DELETE' AND e.dataset_id = ")
        .bind(Param::I64(dataset_id))
        .push(" ORDER BY e.id");
    let existing: Vec<ExampleRow> = tx.fetch_all(&sql).await?;
    // Existing examples by content, oldest first: an uploaded example keeps the oldest unkept
    // example with its content.
    let mut unkept: HashMap<(String, String, String), VecDeque<usize>> = HashMap::new();
    for (i, e) in existing.iter().enumerate() {
        unkept.entry(content(&e.input, &e.output, &e.metadata)).or_default().push_back(i);
    }
    let mut kept = HashSet::new();
    let mut to_create = Vec::new();
    for example in examples {
        let wanted = content(&example.input, &example.output, &example.metadata);
        match unkept.get_mut(&wanted).and_then(VecDeque::pop_front) {
            Some(i) => {
                kept.insert(i);
            }
            None => to_create.push(example),
        }
    }
    let to_delete: Vec<Revision<'_>> = existing
        .iter()
        .enumerate()
        .filter(|(i, _)| !kept.contains(i))
        .map(|(_, e)| Revision { example_id: e.id, input: &e.input, output: &e.output, metadata: &e.metadata })
        .collect();
    if to_create.is_empty() && to_delete.is_empty() && latest > 0 {
        return Ok(UploadOutcome { dataset_id, version_id: latest, created: 0, updated: 0, deleted: 0 });
    }
    let version_id = insert_version(tx, dataset_id, now).await?;
    insert_revisions(tx, version_id, &to_delete, "DELETE", now).await?;
    insert_examples(tx, dataset_id, version_id, to_create.iter().copied(), now).await?;
    Ok(UploadOutcome { dataset_id, version_id, created: to_create.len(), updated: 0, deleted: to_delete.len() })
}
