//! A column-oriented table written as pandas' "table" JSON, the way Phoenix's server encodes the
//! DataFrames of `POST /v1/spans` (`encode_df_as_json_string`): every index level and column is
//! renamed `"<position>_<name>"`, the index levels form the `primaryKey`, and each field's type
//! tells pandas how to cast the column back.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

/// One column: a name, its values (JSON null for missing), and whether the values are times.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub values: Vec<Value>,
    /// Values are Unix nanoseconds, written as UTC datetimes.
    pub datetime: bool,
}

impl Column {
    /// A column of plain JSON values.
    pub fn new(name: impl Into<String>, values: Vec<Value>) -> Self {
        Self { name: name.into(), values, datetime: false }
    }
}

/// A DataFrame: index levels and columns, all of the same length.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    pub index: Vec<Column>,
    pub columns: Vec<Column>,
}

fn iso_ns(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns).format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// The table-schema type pandas casts the column to; mixed or structured values stay objects.
fn field_type(column: &Column) -> Value {
    if column.datetime {
        return json!({"type": "datetime", "tz": "UTC"});
    }
    let present: Vec<&Value> = column.values.iter().filter(|v| !v.is_null()).collect();
    let has_null = present.len() != column.values.len();
    let kind = if present.is_empty() {
        "string"
    } else if present.iter().all(|v| v.is_boolean()) && !has_null {
        "boolean"
    } else if present.iter().all(|v| v.is_i64() || v.is_u64()) && !has_null {
        "integer"
    } else if present.iter().all(|v| v.is_number()) {
        "number"
    } else {
        "string"
    };
    json!({ "type": kind })
}

impl Frame {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.index.first().or(self.columns.first()).map_or(0, |c| c.values.len())
    }

    /// Renames columns by `(old, new)` pairs.
    pub fn rename(&mut self, renames: &[(String, String)]) {
        for column in self.index.iter_mut().chain(self.columns.iter_mut()) {
            if let Some((_, new)) = renames.iter().find(|(old, _)| *old == column.name) {
                column.name = new.clone();
            }
        }
    }

    /// The pandas table JSON of this frame.
    pub fn to_table_json(&self) -> Value {
        let labelled: Vec<(String, &Column)> = self
            .index
            .iter()
            .chain(self.columns.iter())
            .enumerate()
            .map(|(i, column)| (format!("{i}_{}", column.name), column))
            .collect();
        let mut fields: Vec<Value> = Vec::with_capacity(labelled.len());
        for (label, column) in &labelled {
            let mut field = field_type(column);
            if let Some(map) = field.as_object_mut() {
                map.insert("name".into(), Value::String(label.clone()));
            }
            fields.push(field);
        }
        let primary_key: Vec<&String> = labelled.iter().take(self.index.len()).map(|(label, _)| label).collect();
        let data: Vec<Value> = (0..self.len())
            .map(|row| {
                let mut record = Map::new();
                for (label, column) in &labelled {
                    let value = column.values.get(row).cloned().unwrap_or(Value::Null);
                    let value = match (&value, column.datetime) {
                        (Value::Number(n), true) => {
                            n.as_i64().map(|ns| Value::String(iso_ns(ns))).unwrap_or(Value::Null)
                        }
                        _ => value,
                    };
                    record.insert(label.clone(), value);
                }
                Value::Object(record)
            })
            .collect();
        json!({
            "schema": { "fields": fields, "primaryKey": primary_key, "pandas_version": "1.4.0" },
            "data": data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_types_and_times_follow_pandas() {
        let mut start = Column::new("start_time", vec![json!(1_700_000_000_123_456_789i64), Value::Null]);
        start.datetime = true;
        let frame = Frame {
            index: vec![Column::new("context.span_id", vec![json!("a"), json!("b")])],
            columns: vec![
                start,
                Column::new("n", vec![json!(1), json!(2)]),
                Column::new("x", vec![json!(1), Value::Null]),
                Column::new("events", vec![json!([]), json!([{"name": "e"}])]),
            ],
        };
        let table = frame.to_table_json();
        assert_eq!(table["schema"]["primaryKey"], json!(["0_context.span_id"]));
        let types: Vec<&str> = table["schema"]["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| f["type"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(types, ["string", "datetime", "integer", "number", "string"]);
        assert_eq!(table["data"][0]["1_start_time"], json!("2023-11-14T22:13:20.123456789Z"));
        assert_eq!(table["data"][1]["1_start_time"], Value::Null);
        assert_eq!(table["data"][1]["4_events"], json!([{"name": "e"}]));
    }
}
