//! `ember dataset …`: upload, list and export datasets on a running server.
//!
//! Uploads go to `POST /v1/datasets/upload?sync=true` as `multipart/form-data`, the way Phoenix's
//! Python client sends DataFrames: fields `name`, `description`, `action`, `input_keys[]`,
//! `output_keys[]`, `metadata_keys[]` and a gzip-encoded `file` part (`text/csv`, or
//! `application/jsonl` for JSONL and JSON files).

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use super::http::{encode, has_status, Client, Part, ServerArgs};
use super::table::{parse_table, write_csv, Table};

/// `ember dataset` and its options.
#[derive(Debug, Args)]
pub struct DatasetArgs {
    /// The server.
    #[command(flatten)]
    pub server: ServerArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: DatasetCommand,
}

/// Dataset tools.
#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Upload a CSV, JSONL or JSON file (optionally `.gz`) as a dataset, or a new version of one.
    Upload(UploadArgs),
    /// List the server's datasets.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a dataset's examples as CSV or JSONL.
    Export {
        /// The dataset's id or name.
        dataset: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// A version other than the latest.
        #[arg(long)]
        version_id: Option<String>,
    },
}

/// How `ember dataset export` writes examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One column per input, output and metadata key (`output.` / `metadata.` prefixed on clashes).
    Csv,
    /// One `{"id","input","output","metadata"}` object per line.
    Jsonl,
}

/// `ember dataset upload` arguments.
///
/// Without any `--*-keys`, columns are assigned by name: a column named `metadata` or starting
/// with `metadata`/`meta_` is metadata; one whose name (case-insensitive, a trailing `s` ignored)
/// ends in `output`, `expected`, `answer`, `response`, `reference` or `ground_truth` is output;
/// every other column is input. When some groups are given, a missing `--input-keys` means every
/// column not named in the other groups and missing output/metadata groups are empty.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The file: `.csv`, `.jsonl`/`.ndjson` or `.json` (an array of objects), each optionally `.gz`.
    pub file: PathBuf,
    /// The dataset's name.
    #[arg(long)]
    pub name: String,
    /// A description.
    #[arg(long)]
    pub description: Option<String>,
    /// Columns that form each example's input (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub input_keys: Vec<String>,
    /// Columns that form each example's output (the expected value).
    #[arg(long, value_delimiter = ',')]
    pub output_keys: Vec<String>,
    /// Columns that form each example's metadata.
    #[arg(long, value_delimiter = ',')]
    pub metadata_keys: Vec<String>,
    /// Add the examples to an existing dataset instead of making it a new version's whole content.
    #[arg(long)]
    pub append: bool,
    /// Print the server's answer as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The three column groups of an upload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Keys {
    /// Input columns.
    pub input: Vec<String>,
    /// Output columns.
    pub output: Vec<String>,
    /// Metadata columns.
    pub metadata: Vec<String>,
}

/// Whether a column name reads as the expected output.
fn is_output_column(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix('s').unwrap_or(&lower);
    ["output", "expected", "answer", "response", "reference", "ground_truth"].iter().any(|w| stem.ends_with(w))
}

/// Whether a column name reads as metadata.
fn is_metadata_column(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("metadata") || lower.starts_with("meta_")
}

/// Assigns `columns` to groups: the explicit ones when any is given, else by name (see
/// [`UploadArgs`]). Fails on unknown, repeated or empty selections.
pub fn resolve_keys(columns: &[String], input: &[String], output: &[String], metadata: &[String]) -> Result<Keys> {
    let keys = if input.is_empty() && output.is_empty() && metadata.is_empty() {
        let mut keys = Keys::default();
        for column in columns {
            if is_metadata_column(column) {
                keys.metadata.push(column.clone());
            } else if is_output_column(column) {
                keys.output.push(column.clone());
            } else {
                keys.input.push(column.clone());
            }
        }
        keys
    } else {
        let named = |c: &String| output.contains(c) || metadata.contains(c);
        let input =
            if input.is_empty() { columns.iter().filter(|c| !named(c)).cloned().collect() } else { input.to_vec() };
        Keys { input, output: output.to_vec(), metadata: metadata.to_vec() }
    };
    let all: Vec<&String> = keys.input.iter().chain(&keys.output).chain(&keys.metadata).collect();
    for (i, key) in all.iter().enumerate() {
        if !columns.contains(key) {
            bail!("no column named {key:?}; the file has {}", columns.join(", "));
        }
        if all[..i].contains(key) {
            bail!("column {key:?} is in more than one of --input-keys, --output-keys, --metadata-keys");
        }
    }
    if keys.input.is_empty() {
        bail!("no input columns: name them with --input-keys");
    }
    Ok(keys)
}

/// Runs a dataset subcommand.
pub async fn run(args: DatasetArgs) -> Result<()> {
    let client = Client::new(&args.server)?;
    match args.command {
        DatasetCommand::Upload(upload_args) => upload(&client, &upload_args).await,
        DatasetCommand::List { json } => list(&client, json).await,
        DatasetCommand::Export { dataset, format, version_id } => {
            export(&client, &dataset, format, version_id.as_deref()).await
        }
    }
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

/// Reads `path`, un-gzipping a `.gz` file; returns the content and the name without `.gz`.
fn read_file(path: &Path) -> Result<(Vec<u8>, String)> {
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "dataset".into());
    match name.strip_suffix(".gz") {
        Some(inner) => {
            let mut text = Vec::new();
            flate2::read::MultiGzDecoder::new(raw.as_slice())
                .read_to_end(&mut text)
                .with_context(|| format!("{} is not gzip", path.display()))?;
            Ok((text, inner.to_owned()))
        }
        None => Ok((raw, name)),
    }
}

async fn upload(client: &Client, args: &UploadArgs) -> Result<()> {
    let (content, file_name) = read_file(&args.file)?;
    let table = parse_table(&file_name, &content)?;
    let keys = resolve_keys(&table.columns(), &args.input_keys, &args.output_keys, &args.metadata_keys)?;
    let (body, content_type, upload_name) = match &table {
        Table::Csv { .. } => (content, "text/csv", file_name.clone()),
        Table::Rows(rows) => {
            let mut jsonl = Vec::new();
            for row in rows {
                serde_json::to_writer(&mut jsonl, row)?;
                jsonl.push(b'\n');
            }
            let stem = file_name.rsplit_once('.').map_or(file_name.as_str(), |(stem, _)| stem);
            (jsonl, "application/jsonl", format!("{stem}.jsonl"))
        }
    };
    // Like Phoenix's client: `update` (the file becomes the new version's whole content), or
    // `create` for servers that only know `create`/`append`.
    let action = if args.append { "append" } else { "update" };
    let file = gzip(&body)?;
    let answer = match send_upload(client, args, &keys, action, &upload_name, content_type, &file).await {
        Err(err) if action == "update" && has_status(&err, 422) && err.to_string().contains("action") => {
            send_upload(client, args, &keys, "create", &upload_name, content_type, &file).await?
        }
        other => other?,
    };
    let data = &answer["data"];
    let Some(dataset_id) = data["dataset_id"].as_str() else { bail!("unexpected upload answer: {answer}") };
    let count = match client.get(&format!("/v1/datasets/{}", encode(dataset_id))).await {
        Ok(dataset) => dataset["data"]["example_count"].as_u64(),
        Err(_) => None,
    };
    let count = count.unwrap_or(table.len() as u64);
    if args.json {
        let out = json!({"dataset_id": dataset_id, "version_id": data["version_id"], "example_count": count, "keys": {"input": keys.input, "output": keys.output, "metadata": keys.metadata}});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("dataset id:    {dataset_id}");
        println!("version id:    {}", data["version_id"].as_str().unwrap_or("?"));
        println!("examples:      {count}");
        println!("input keys:    {}", keys.input.join(", "));
        println!("output keys:   {}", keys.output.join(", "));
        println!("metadata keys: {}", keys.metadata.join(", "));
    }
    Ok(())
}

async fn send_upload(
    client: &Client,
    args: &UploadArgs,
    keys: &Keys,
    action: &str,
    file_name: &str,
    content_type: &str,
    gzipped: &[u8],
) -> Result<Value> {
    let mut parts = vec![
        Part::text("action", action),
        Part::text("name", &args.name),
        Part::text("description", args.description.as_deref().unwrap_or("")),
    ];
    for (field, group) in
        [("input_keys[]", &keys.input), ("output_keys[]", &keys.output), ("metadata_keys[]", &keys.metadata)]
    {
        parts.extend(group.iter().map(|key| Part::text(field, key)));
    }
    parts.push(Part::file("file", file_name, content_type, &[("Content-Encoding", "gzip")], gzipped.to_vec()));
    client.post_multipart("/v1/datasets/upload?sync=true", &parts).await
}

/// Finds a dataset by name (`GET /v1/datasets?name=`) or id (`GET /v1/datasets/{id}`); returns
/// its record (`id`, `name`, …).
pub async fn resolve(client: &Client, dataset: &str) -> Result<Value> {
    let listing = client.get(&format!("/v1/datasets?name={}", encode(dataset))).await?;
    if let Some(found) = listing["data"].as_array().and_then(|d| d.iter().find(|d| d["name"] == dataset)) {
        return Ok(found.clone());
    }
    match client.get(&format!("/v1/datasets/{}", encode(dataset))).await {
        Ok(answer) => Ok(answer["data"].clone()),
        Err(err) if has_status(&err, 404) || has_status(&err, 422) => {
            bail!("no dataset named {dataset:?} or with that id on {}", client.base())
        }
        Err(err) => Err(err),
    }
}

async fn list(client: &Client, as_json: bool) -> Result<()> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/v1/datasets?limit=100".to_owned();
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={}", encode(cursor)));
        }
        let page = client.get(&path).await?;
        all.extend(page["data"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => break,
        }
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    if !std::io::stdout().is_terminal() {
        table.load_preset(comfy_table::presets::ASCII_MARKDOWN);
    }
    table.set_header(["id", "name", "examples", "updated", "description"]);
    for d in &all {
        let text = |v: &Value| {
            v.as_str().map_or_else(|| if v.is_null() { String::new() } else { v.to_string() }, str::to_owned)
        };
        table.add_row([
            text(&d["id"]),
            text(&d["name"]),
            text(&d["example_count"]),
            text(&d["updated_at"]),
            text(&d["description"]),
        ]);
    }
    println!("{table}");
    Ok(())
}

async fn export(client: &Client, dataset: &str, format: ExportFormat, version_id: Option<&str>) -> Result<()> {
    let record = resolve(client, dataset).await?;
    let Some(id) = record["id"].as_str() else { bail!("unexpected dataset record: {record}") };
    let mut path = format!("/v1/datasets/{}/examples", encode(id));
    if let Some(version) = version_id {
        path.push_str(&format!("?version_id={}", encode(version)));
    }
    let answer = client.get(&path).await?;
    let examples = answer["data"]["examples"].as_array().cloned().unwrap_or_default();
    let mut out = std::io::stdout().lock();
    match format {
        ExportFormat::Jsonl => {
            use std::io::Write;
            for e in &examples {
                let line =
                    json!({"id": e["id"], "input": e["input"], "output": e["output"], "metadata": e["metadata"]});
                writeln!(out, "{line}")?;
            }
        }
        ExportFormat::Csv => write_csv(&mut out, &examples)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn keys_are_inferred_from_column_names() {
        let keys =
            resolve_keys(&cols(&["question", "context", "expected_answer", "metadata_source"]), &[], &[], &[]).unwrap();
        assert_eq!(keys.input, cols(&["question", "context"]));
        assert_eq!(keys.output, cols(&["expected_answer"]));
        assert_eq!(keys.metadata, cols(&["metadata_source"]));
        let keys = resolve_keys(&cols(&["input", "Outputs", "meta_tag", "metadata"]), &[], &[], &[]).unwrap();
        assert_eq!(
            (keys.input, keys.output, keys.metadata),
            (cols(&["input"]), cols(&["Outputs"]), cols(&["meta_tag", "metadata"]))
        );
    }

    #[test]
    fn explicit_keys_win_and_input_defaults_to_the_rest() {
        let columns = cols(&["q", "a", "p"]);
        let keys = resolve_keys(&columns, &[], &cols(&["a"]), &cols(&["p"])).unwrap();
        assert_eq!(keys, Keys { input: cols(&["q"]), output: cols(&["a"]), metadata: cols(&["p"]) });
        let keys = resolve_keys(&columns, &cols(&["q"]), &[], &[]).unwrap();
        assert_eq!(keys, Keys { input: cols(&["q"]), ..Keys::default() });
        assert!(resolve_keys(&columns, &cols(&["nope"]), &[], &[]).is_err());
        assert!(resolve_keys(&columns, &cols(&["q"]), &cols(&["q"]), &[]).is_err());
        assert!(resolve_keys(&cols(&["answer"]), &[], &[], &[]).is_err(), "no input column");
    }

    #[test]
    fn gz_files_are_unpacked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv.gz");
        std::fs::write(&path, gzip(b"a,b\n1,2\n").unwrap()).unwrap();
        let (content, name) = read_file(&path).unwrap();
        assert_eq!((content.as_slice(), name.as_str()), (&b"a,b\n1,2\n"[..], "d.csv"));
    }
}
