//! Dataset files: reading CSV, JSONL and JSON for `ember dataset upload`, writing CSV for
//! `ember dataset export`.

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};

/// A parsed dataset file.
#[derive(Debug)]
pub enum Table {
    /// A CSV file: its header and how many data rows follow.
    Csv {
        /// Column names.
        header: Vec<String>,
        /// Data rows.
        rows: usize,
    },
    /// JSONL or JSON: one object per example.
    Rows(Vec<Map<String, Value>>),
}

impl Table {
    /// The column names (for rows: every top-level key, in order of first appearance).
    pub fn columns(&self) -> Vec<String> {
        match self {
            Self::Csv { header, .. } => header.clone(),
            Self::Rows(rows) => keys_of(rows.iter().map(|r| r as &Map<String, Value>)),
        }
    }

    /// How many examples.
    pub fn len(&self) -> usize {
        match self {
            Self::Csv { rows, .. } => *rows,
            Self::Rows(rows) => rows.len(),
        }
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Anything whose object keys can be listed.
pub trait Keyed {
    /// The keys, if an object.
    fn object(&self) -> Option<&Map<String, Value>>;
}

impl Keyed for &Value {
    fn object(&self) -> Option<&Map<String, Value>> {
        self.as_object()
    }
}

impl Keyed for &Map<String, Value> {
    fn object(&self) -> Option<&Map<String, Value>> {
        Some(self)
    }
}

/// Every key of the objects, in order of first appearance.
pub fn keys_of<T: Keyed>(objects: impl Iterator<Item = T>) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for object in objects {
        for key in object.object().into_iter().flat_map(Map::keys) {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    keys
}

/// Parses `content`, choosing the format by `file_name`'s extension (`.csv`, `.jsonl`/`.ndjson`,
/// `.json`; anything else is sniffed: `[` → JSON, `{` → JSONL, else CSV).
pub fn parse_table(file_name: &str, content: &[u8]) -> Result<Table> {
    let extension = file_name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    let first = content.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let table = match (extension.as_str(), first) {
        ("csv" | "tsv", _) => parse_csv(content, if extension == "tsv" { b'\t' } else { b',' })?,
        ("jsonl" | "ndjson", _) | (_, Some(b'{')) if extension != "json" => parse_jsonl(content)?,
        ("json", _) | (_, Some(b'[')) => parse_json(content)?,
        _ => parse_csv(content, b',')?,
    };
    if table.is_empty() {
        bail!("{file_name} has no examples");
    }
    Ok(table)
}

fn parse_csv(content: &[u8], delimiter: u8) -> Result<Table> {
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(content);
    let header: Vec<String> = reader.headers().context("reading the CSV header")?.iter().map(str::to_owned).collect();
    for (i, name) in header.iter().enumerate() {
        if header[..i].contains(name) {
            bail!("duplicate column {name:?} in the CSV header");
        }
    }
    let mut rows = 0;
    for record in reader.records() {
        record.with_context(|| format!("reading CSV row {}", rows + 2))?;
        rows += 1;
    }
    Ok(Table::Csv { header, rows })
}

fn object(value: Value, what: &str) -> Result<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        other => bail!("{what} is not a JSON object: {other}"),
    }
}

fn parse_jsonl(content: &[u8]) -> Result<Table> {
    let text = std::str::from_utf8(content).context("the JSONL file is not UTF-8")?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value = serde_json::from_str(line).with_context(|| format!("line {} is not JSON", i + 1))?;
        rows.push(object(value, &format!("line {}", i + 1))?);
    }
    Ok(Table::Rows(rows))
}

fn parse_json(content: &[u8]) -> Result<Table> {
    let value: Value = serde_json::from_slice(content).context("the file is not JSON")?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("examples").or_else(|| map.remove("data")) {
            Some(Value::Array(items)) => items,
            _ => bail!("a JSON dataset is an array of objects (or {{\"examples\": [...]}})"),
        },
        _ => bail!("a JSON dataset is an array of objects"),
    };
    let rows =
        items.into_iter().enumerate().map(|(i, v)| object(v, &format!("item {i}"))).collect::<Result<Vec<_>>>()?;
    Ok(Table::Rows(rows))
}

/// Writes examples as CSV: `id`, then one column per input, output and metadata key; output and
/// metadata columns whose name is already taken get an `output.`/`metadata.` prefix.
pub fn write_csv(out: impl std::io::Write, examples: &[Value]) -> Result<()> {
    let mut columns: Vec<(String, &str, String)> = Vec::new();
    for group in ["input", "output", "metadata"] {
        for key in keys_of(examples.iter().map(|e| &e[group])) {
            let taken = key == "id" || columns.iter().any(|(name, _, _)| *name == key);
            let name = if taken { format!("{group}.{key}") } else { key.clone() };
            columns.push((name, group, key));
        }
    }
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(std::iter::once("id").chain(columns.iter().map(|(name, _, _)| name.as_str())))?;
    for e in examples {
        let cell = |v: &Value| match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let row = std::iter::once(cell(&e["id"])).chain(columns.iter().map(|(_, group, key)| cell(&e[*group][key])));
        writer.write_record(row.collect::<Vec<_>>())?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_header_and_rows() {
        let table = parse_table("a.csv", b"q,a\n\"x, y\",1\nz,2\n").unwrap();
        assert_eq!((table.columns(), table.len()), (vec!["q".to_owned(), "a".to_owned()], 2));
        assert!(parse_table("a.csv", b"q,q\n1,2\n").is_err(), "duplicate columns");
        assert!(parse_table("a.csv", b"q,a\n").is_err(), "no rows");
    }

    #[test]
    fn jsonl_and_json_rows_union_their_keys() {
        // First appearance across rows; within one object, serde_json's (sorted) key order.
        let table = parse_table("a.jsonl", b"{\"q\": 1}\n\n{\"a\": 2, \"q\": 3}\n").unwrap();
        assert_eq!((table.columns(), table.len()), (vec!["q".to_owned(), "a".to_owned()], 2));
        let table = parse_table("a.json", br#"[{"q": 1, "a": 2}]"#).unwrap();
        assert_eq!(table.columns(), vec!["a".to_owned(), "q".to_owned()]);
        let table = parse_table("a.json", br#"{"examples": [{"q": 1}]}"#).unwrap();
        assert_eq!(table.len(), 1);
        assert!(parse_table("a.jsonl", b"[1]\n").is_err());
        assert!(parse_table("a.json", b"[1]").is_err());
    }

    #[test]
    fn unknown_extensions_are_sniffed() {
        assert!(matches!(parse_table("data.txt", b"{\"q\": 1}\n").unwrap(), Table::Rows(_)));
        assert!(matches!(parse_table("data.txt", b"[{\"q\": 1}]").unwrap(), Table::Rows(_)));
        assert!(matches!(parse_table("data.txt", b"q\n1\n").unwrap(), Table::Csv { .. }));
    }

    #[test]
    fn csv_export_prefixes_clashing_columns() {
        let examples = vec![json!({"id": "e1", "input": {"q": "x", "n": 1}, "output": {"q": "y"}, "metadata": {}})];
        let mut out = Vec::new();
        write_csv(&mut out, &examples).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "id,n,q,output.q\ne1,1,x,y\n");
    }
}
