//! Unit tests of upload parsing.

use std::io::Write;

use super::*;

fn keys(input: &[&str], output: &[&str], metadata: &[&str]) -> Keys {
    let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
    Keys { input: own(input), output: own(output), metadata: own(metadata), span_id: None }
}

#[test]
fn csv_rows_become_string_valued_objects() {
    let csv = b"q,a,tag\nwhat is 2+2?,4,math\n\"hello, world\",hi,greeting\n";
    let examples = parse_file(Format::Csv, csv, &keys(&["q"], &["a"], &["tag"])).unwrap();
    assert_eq!(examples.len(), 2);
    assert_eq!(examples[1].input, r#"{"q":"hello, world"}"#);
    assert_eq!(examples[0].output, r#"{"a":"4"}"#);
    assert_eq!(examples[0].metadata, r#"{"tag":"math"}"#);
}

#[test]
fn csv_with_a_short_row_names_its_line() {
    let csv = b"q,a\nx,1\ny\n";
    let err = parse_file(Format::Csv, csv, &keys(&["q"], &["a"], &[])).unwrap_err();
    assert!(matches!(err, UploadError::Csv { line: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("line 3"));
}

#[test]
fn csv_keys_must_be_columns_and_headers_unique() {
    let err = parse_file(Format::Csv, b"q,a\nx,1\n", &keys(&["q"], &["answer"], &[])).unwrap_err();
    assert_eq!(err, UploadError::MissingKeys("answer".into()));
    let err = parse_file(Format::Csv, b"q,q\nx,1\n", &keys(&["q"], &[], &[])).unwrap_err();
    assert!(matches!(err, UploadError::DuplicateHeaders(_)));
    let err = parse_file(Format::Csv, b"q\n", &keys(&["q"], &[], &[])).unwrap_err();
    assert_eq!(err, UploadError::Empty);
}

#[test]
fn jsonl_keeps_json_types_and_names_bad_lines() {
    let jsonl = b"{\"q\": \"x\", \"n\": 1}\n\n{\"q\": \"y\", \"n\": [2]}\n";
    let examples = parse_file(Format::Jsonl, jsonl, &keys(&["q"], &["n"], &[])).unwrap();
    assert_eq!(examples[1].output, r#"{"n":[2]}"#);
    let err = parse_file(Format::Jsonl, b"{\"q\": 1}\n{oops\n", &keys(&["q"], &[], &[])).unwrap_err();
    assert!(matches!(err, UploadError::Jsonl { line: 2, .. }), "{err:?}");
    let err = parse_file(Format::Jsonl, b"{\"q\": 1}\n{\"r\": 2}\n", &keys(&["q"], &[], &[])).unwrap_err();
    assert!(err.to_string().contains("line 2") && err.to_string().contains("q"), "{err}");
}

#[test]
fn jsonl_export_shape_reads_back_without_keys() {
    let line = br#"{"id":"x","input":{"q":1},"output":{"a":2},"metadata":{}}"#;
    let examples = parse_file(Format::Jsonl, line, &Keys::default()).unwrap();
    assert_eq!(examples[0].input, r#"{"q":1}"#);
    assert_eq!(examples[0].output, r#"{"a":2}"#);
}

#[test]
fn json_arrays_parse_and_gzip_inflates_within_limit() {
    let examples = parse_file(Format::Json, br#"[{"q":"a","r":"b"}]"#, &keys(&["q"], &["r"], &[])).unwrap();
    assert_eq!(examples.len(), 1);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&[b'a'; 1000]).unwrap();
    let gz = encoder.finish().unwrap();
    assert_eq!(gunzip(&gz, 1000).unwrap().len(), 1000);
    assert_eq!(gunzip(&gz, 999).unwrap_err(), UploadError::TooLarge(999));
    assert!(matches!(gunzip(b"\x1f\x8bnot gzip", 10), Err(UploadError::Gzip(_))));
}

#[test]
fn formats_come_from_names_then_content_types() {
    assert_eq!(detect_format("data.jsonl", None), Format::Jsonl);
    assert_eq!(detect_format("data.json", Some("text/csv")), Format::Json);
    assert_eq!(detect_format("dataframe.csv", None), Format::Csv);
    assert_eq!(detect_format("blob", Some("application/jsonl")), Format::Jsonl);
    assert_eq!(detect_format("blob", None), Format::Csv);
}

#[test]
fn json_body_checks_lengths_and_actions() {
    let upload =
        parse_json_body(br#"{"action":"append","name":" d ","inputs":[{"q":1}],"outputs":[{"a":2}]}"#).unwrap();
    assert_eq!(upload.action, UploadAction::Append);
    assert_eq!(upload.name, "d");
    assert_eq!(upload.examples[0].metadata, "{}");
    assert!(parse_json_body(br#"{"name":"d","inputs":[{"q":1}],"outputs":[{},{}]}"#).is_err());
    assert!(parse_json_body(br#"{"action":"merge","name":"d","inputs":[{"q":1}]}"#).is_err());
    assert!(parse_json_body(br#"{"name":"d","inputs":[]}"#).is_err());
}
