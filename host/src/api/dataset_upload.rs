//! Parsing `POST /v1/datasets/upload` bodies: Phoenix's JSON form (`inputs`, `outputs`,
//! `metadata`, `span_ids`) and its multipart form (a CSV, JSONL or JSON `file`, possibly gzip,
//! with `input_keys[]`, `output_keys[]`, `metadata_keys[]`, `span_id_key`). Unknown fields (split
//! keys, example ids, flatten keys) are accepted and ignored.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::store::{NewExample, UploadAction};

/// A parsed upload.
#[derive(Debug)]
pub struct Upload {
    pub action: UploadAction,
    pub name: String,
    pub description: Option<String>,
    pub examples: Vec<NewExample>,
}

/// Why an uploaded file cannot be read; every message names the line or item at fault.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum UploadError {
    #[error("malformed CSV at line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("malformed JSONL at line {line}: {message}")]
    Jsonl { line: usize, message: String },
    #[error("malformed JSON: {0}")]
    Json(String),
    #[error("keys not found in the file's columns: {0}")]
    MissingKeys(String),
    #[error("duplicate column headers in CSV: {0}")]
    DuplicateHeaders(String),
    #[error("the upload holds no examples")]
    Empty,
    #[error("input_keys[] (or output_keys[] / metadata_keys[]) is required")]
    NoKeys,
    #[error("the file is not valid UTF-8")]
    NotUtf8,
    #[error("the gzip-compressed file cannot be decompressed: {0}")]
    Gzip(String),
    #[error("the decompressed file is larger than {0} bytes")]
    TooLarge(usize),
}

impl From<UploadError> for ApiError {
    fn from(err: UploadError) -> Self {
        match err {
            UploadError::TooLarge(_) => ApiError::too_large(err.to_string()),
            other => ApiError::invalid(other.to_string()),
        }
    }
}

/// Which columns go where.
#[derive(Debug, Default, Clone)]
pub struct Keys {
    pub input: Vec<String>,
    pub output: Vec<String>,
    pub metadata: Vec<String>,
    pub span_id: Option<String>,
}

/// The format of an uploaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
    Json,
}

fn parse_action(raw: Option<&str>) -> ApiResult<UploadAction> {
    match raw.unwrap_or("create") {
        "create" => Ok(UploadAction::Create),
        "append" => Ok(UploadAction::Append),
        "update" => Ok(UploadAction::Update),
        other => Err(ApiError::invalid(format!("Invalid dataset action: {other}"))),
    }
}

/// A multipart part that could not be read: over the limit, or malformed.
fn part_error(error: MultipartError, limit: usize) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(format!("upload is larger than the {limit}-byte limit"))
    } else {
        ApiError::invalid(error.body_text())
    }
}

/// Reads an upload request of either form.
pub async fn read_upload(state: &AppState, request: Request) -> ApiResult<Upload> {
    let limit = state.ingestor.max_body_bytes;
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, state).await.map_err(|e| ApiError::invalid(e.body_text()))?;
        return read_multipart(multipart, limit).await;
    }
    let body = Bytes::from_request(request, state)
        .await
        .map_err(|e| ApiError::body_read(e.into(), &format!("upload is larger than the {limit}-byte limit")))?;
    parse_json_body(&body)
}

#[derive(Debug, Deserialize)]
struct JsonUpload {
    action: Option<String>,
    name: String,
    description: Option<String>,
    inputs: Vec<Value>,
    #[serde(default)]
    outputs: Vec<Value>,
    #[serde(default)]
    metadata: Vec<Value>,
    #[serde(default)]
    span_ids: Vec<Option<String>>,
}

/// Parses Phoenix's JSON upload body.
pub fn parse_json_body(body: &[u8]) -> ApiResult<Upload> {
    let upload: JsonUpload =
        serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("invalid upload body: {e}")))?;
    let action = parse_action(upload.action.as_deref())?;
    let n = upload.inputs.len();
    if n == 0 {
        return Err(UploadError::Empty.into());
    }
    for (field, len) in
        [("outputs", upload.outputs.len()), ("metadata", upload.metadata.len()), ("span_ids", upload.span_ids.len())]
    {
        if len != 0 && len != n {
            return Err(ApiError::invalid(format!("{field} must have as many items as inputs ({len} != {n})")));
        }
    }
    let object = |field: &str, list: &[Value], i: usize| -> ApiResult<String> {
        match list.get(i) {
            None => Ok("{}".to_owned()),
            Some(value @ Value::Object(_)) => Ok(value.to_string()),
            Some(_) => Err(ApiError::invalid(format!("{field}[{i}] must be a JSON object"))),
        }
    };
    let mut examples = Vec::with_capacity(n);
    for i in 0..n {
        examples.push(NewExample {
            input: object("inputs", &upload.inputs, i)?,
            output: object("outputs", &upload.outputs, i)?,
            metadata: object("metadata", &upload.metadata, i)?,
            span_id: upload.span_ids.get(i).cloned().flatten().filter(|s| !s.is_empty()),
        });
    }
    Ok(Upload { action, name: validate_name(upload.name)?, description: upload.description, examples })
}

fn validate_name(name: String) -> ApiResult<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(ApiError::invalid("dataset name must be non-empty"));
    }
    Ok(trimmed.to_owned())
}

async fn read_multipart(mut multipart: Multipart, limit: usize) -> ApiResult<Upload> {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut file: Option<(Bytes, Option<String>, Option<String>, bool)> = None;
    loop {
        let field = multipart.next_field().await.map_err(|e| part_error(e, limit))?;
        let Some(field) = field else { break };
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let gzip_header = field
                .headers()
                .get(header::CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
            let bytes = field.bytes().await.map_err(|e| part_error(e, limit))?;
            file = Some((bytes, file_name, content_type, gzip_header));
        } else {
            let text = field.text().await.map_err(|e| part_error(e, limit))?;
            fields.push((name, text));
        }
    }
    let get = |key: &str| fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let all = |key: &str| -> Vec<String> {
        let mut values: Vec<String> =
            fields.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).filter(|v| !v.is_empty()).collect();
        values.dedup();
        values
    };
    let action = parse_action(get("action"))?;
    let name = validate_name(get("name").unwrap_or("").to_owned())?;
    let description = get("description").map(str::to_owned);
    let keys = Keys {
        input: all("input_keys[]"),
        output: all("output_keys[]"),
        metadata: all("metadata_keys[]"),
        span_id: get("span_id_key").filter(|k| !k.is_empty()).map(str::to_owned),
    };
    let Some((bytes, file_name, content_type, gzip_header)) = file else {
        return Err(ApiError::invalid("the multipart upload has no `file` part"));
    };
    let file_name = file_name.unwrap_or_default().to_ascii_lowercase();
    let gzipped = gzip_header || file_name.ends_with(".gz") || bytes.starts_with(&[0x1f, 0x8b]);
    let content = if gzipped { gunzip(&bytes, limit)? } else { bytes.to_vec() };
    let format = detect_format(file_name.trim_end_matches(".gz"), content_type.as_deref());
    let examples = parse_file(format, &content, &keys)?;
    Ok(Upload { action, name, description, examples })
}

/// Inflates gzip data, refusing more than `limit` bytes of output.
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, UploadError> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(limit as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| UploadError::Gzip(e.to_string()))?;
    if out.len() > limit {
        return Err(UploadError::TooLarge(limit));
    }
    Ok(out)
}

/// The format from the file name's extension, else the part's content type; CSV by default.
pub fn detect_format(file_name: &str, content_type: Option<&str>) -> Format {
    if file_name.ends_with(".jsonl") || file_name.ends_with(".ndjson") {
        return Format::Jsonl;
    }
    if file_name.ends_with(".json") {
        return Format::Json;
    }
    if file_name.ends_with(".csv") {
        return Format::Csv;
    }
    match content_type.unwrap_or("").to_ascii_lowercase() {
        t if t.contains("jsonl") || t.contains("ndjson") => Format::Jsonl,
        t if t.contains("json") => Format::Json,
        _ => Format::Csv,
    }
}

/// Parses a whole file into examples; nothing is returned unless every row is good.
pub fn parse_file(format: Format, content: &[u8], keys: &Keys) -> Result<Vec<NewExample>, UploadError> {
    let examples = match format {
        Format::Csv => parse_csv(content, keys)?,
        Format::Jsonl => {
            let text = std::str::from_utf8(content).map_err(|_| UploadError::NotUtf8)?;
            let mut examples = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let jsonl = |message: String| UploadError::Jsonl { line: i + 1, message };
                let value: Value = serde_json::from_str(line).map_err(|e| jsonl(e.to_string()))?;
                examples.push(example_from_object(value, keys).map_err(jsonl)?);
            }
            examples
        }
        Format::Json => {
            let value: Value = serde_json::from_slice(content).map_err(|e| UploadError::Json(e.to_string()))?;
            let Value::Array(items) = value else {
                return Err(UploadError::Json("expected an array of objects".into()));
            };
            let mut examples = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                examples
                    .push(example_from_object(item, keys).map_err(|m| UploadError::Json(format!("item {i}: {m}")))?);
            }
            examples
        }
    };
    if examples.is_empty() {
        return Err(UploadError::Empty);
    }
    Ok(examples)
}

fn parse_csv(content: &[u8], keys: &Keys) -> Result<Vec<NewExample>, UploadError> {
    if keys.input.is_empty() && keys.output.is_empty() && keys.metadata.is_empty() {
        return Err(UploadError::NoKeys);
    }
    let csv_error = |err: csv::Error| {
        let line = err.position().map_or(1, |p| p.line());
        let message = match err.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                format!("found {len} fields where the header has {expected_len}")
            }
            csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_owned(),
            _ => err.to_string(),
        };
        UploadError::Csv { line, message }
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(content);
    let headers: Vec<String> = reader.headers().map_err(csv_error)?.iter().map(str::to_owned).collect();
    let mut seen = std::collections::HashSet::new();
    let duplicates: Vec<&str> = headers.iter().filter(|h| !seen.insert(h.as_str())).map(String::as_str).collect();
    if !duplicates.is_empty() {
        return Err(UploadError::DuplicateHeaders(duplicates.join(", ")));
    }
    let index = |key: &str| headers.iter().position(|h| h == key);
    let wanted = keys.input.iter().chain(&keys.output).chain(&keys.metadata).chain(keys.span_id.iter());
    let missing: Vec<&str> = wanted.filter(|k| index(k).is_none()).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(UploadError::MissingKeys(missing.join(", ")));
    }
    let pick = |record: &csv::StringRecord, group: &[String]| -> String {
        let object: Map<String, Value> = group
            .iter()
            .map(|k| (k.clone(), Value::String(index(k).and_then(|i| record.get(i)).unwrap_or("").to_owned())))
            .collect();
        Value::Object(object).to_string()
    };
    let mut examples = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let span_id = keys.span_id.as_deref().and_then(index).and_then(|i| record.get(i)).filter(|s| !s.is_empty());
        examples.push(NewExample {
            input: pick(&record, &keys.input),
            output: pick(&record, &keys.output),
            metadata: pick(&record, &keys.metadata),
            span_id: span_id.map(str::to_owned),
        });
    }
    Ok(examples)
}

/// One JSONL line or JSON item: the listed keys picked out, or, without keys, the object's own
/// `input`/`output`/`metadata` objects (what the JSONL export writes).
fn example_from_object(value: Value, keys: &Keys) -> Result<NewExample, String> {
    let Value::Object(mut object) = value else { return Err("expected a JSON object".into()) };
    if keys.input.is_empty() && keys.output.is_empty() && keys.metadata.is_empty() {
        if !object.contains_key("input") {
            return Err("no input_keys[] given and the object has no `input`".into());
        }
        let span_id = object.get("span_id").and_then(Value::as_str).map(str::to_owned);
        let mut part = |name: &str| match object.remove(name) {
            None | Some(Value::Null) => Ok("{}".to_owned()),
            Some(v @ Value::Object(_)) => Ok(v.to_string()),
            Some(_) => Err(format!("`{name}` must be an object")),
        };
        let (input, output, metadata) = (part("input")?, part("output")?, part("metadata")?);
        return Ok(NewExample { input, output, metadata, span_id });
    }
    let mut missing = Vec::new();
    let mut pick = |group: &[String]| -> String {
        let picked: Map<String, Value> = group
            .iter()
            .filter_map(|k| match object.get(k) {
                Some(v) => Some((k.clone(), v.clone())),
                None => {
                    missing.push(k.clone());
                    None
                }
            })
            .collect();
        Value::Object(picked).to_string()
    };
    let (input, output, metadata) = (pick(&keys.input), pick(&keys.output), pick(&keys.metadata));
    if !missing.is_empty() {
        return Err(format!("missing keys: {}", missing.join(", ")));
    }
    let span_id = keys.span_id.as_deref().and_then(|k| object.get(k)).and_then(Value::as_str).map(str::to_owned);
    Ok(NewExample { input, output, metadata, span_id })
}

#[cfg(test)]
mod tests;
