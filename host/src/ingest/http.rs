//! OTLP over HTTP: `POST /v1/traces` with protobuf or JSON bodies, optionally gzip- or deflate-compressed.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use prost::Message;

use super::{Encoding, IngestError, Ingestor};
use crate::queue::QueueError;

/// Seconds a client should wait before retrying when the queue is full.
const RETRY_AFTER_SECONDS: &str = "1";

/// `google.rpc.Status`, the body of an OTLP/HTTP error reply in protobuf.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// The `POST /v1/traces` handler.
pub async fn export_traces(State(ingestor): State<Ingestor>, headers: HeaderMap, body: Bytes) -> Response {
    let encoding = match content_type(&headers) {
        Ok(encoding) => encoding,
        Err(message) => return error(Encoding::Json, StatusCode::UNSUPPORTED_MEDIA_TYPE, message),
    };
    let body = match decompress(&headers, body, ingestor.max_body_bytes) {
        Ok(body) => body,
        Err((status, message)) => {
            let reason = if status == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "malformed" };
            ingestor.metrics().requests_rejected.get_or_create(&vec![("reason", reason)]).inc();
            return error(encoding, status, message);
        }
    };
    let project = headers.get("x-project-name").and_then(|v| v.to_str().ok()).map(str::to_owned);
    match ingestor.export(body, encoding, project, "http").await {
        Ok(reply) => {
            let body = match encoding {
                Encoding::Protobuf => reply.encode_to_vec(),
                Encoding::Json => serde_json::to_vec(&reply).unwrap_or_else(|_| b"{}".to_vec()),
            };
            ([(header::CONTENT_TYPE, mime(encoding))], body).into_response()
        }
        Err(IngestError::Decode(err)) => error(encoding, StatusCode::BAD_REQUEST, err.to_string()),
        Err(IngestError::Queue(QueueError::Full)) => {
            let mut response =
                error(encoding, StatusCode::SERVICE_UNAVAILABLE, "ingest queue is full; retry later".into());
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
            response
        }
        Err(IngestError::Queue(QueueError::Closed)) => {
            error(encoding, StatusCode::SERVICE_UNAVAILABLE, "server is shutting down".into())
        }
        Err(IngestError::Internal) => error(encoding, StatusCode::INTERNAL_SERVER_ERROR, "decoder task failed".into()),
    }
}

fn mime(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Protobuf => "application/x-protobuf",
        Encoding::Json => "application/json",
    }
}

fn content_type(headers: &HeaderMap) -> Result<Encoding, String> {
    let value = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        _ => Err(format!("unsupported content type {value:?}: use application/x-protobuf or application/json")),
    }
}

/// Undoes `Content-Encoding`, refusing bodies that inflate past `limit` bytes.
fn decompress(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, (StatusCode, String)> {
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    let reader: Box<dyn Read> = match encoding.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => return Ok(body),
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(&body[..])),
        "deflate" => Box::new(flate2::read::ZlibDecoder::new(&body[..])),
        other => {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content encoding {other:?}: use gzip or deflate"),
            ))
        }
    };
    let mut inflated = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let read = reader.take(limit as u64 + 1).read_to_end(&mut inflated);
    match read {
        Err(err) => Err((StatusCode::BAD_REQUEST, format!("cannot decompress {encoding} body: {err}"))),
        Ok(n) if n > limit => Err((StatusCode::PAYLOAD_TOO_LARGE, format!("decompressed body exceeds {limit} bytes"))),
        Ok(_) => Ok(Bytes::from(inflated)),
    }
}

fn error(encoding: Encoding, status: StatusCode, message: String) -> Response {
    let code = match status {
        StatusCode::SERVICE_UNAVAILABLE => 14, // UNAVAILABLE
        StatusCode::PAYLOAD_TOO_LARGE => 8,    // RESOURCE_EXHAUSTED
        StatusCode::INTERNAL_SERVER_ERROR => 13,
        _ => 3, // INVALID_ARGUMENT
    };
    let body = match encoding {
        Encoding::Protobuf => RpcStatus { code, message }.encode_to_vec(),
        Encoding::Json => serde_json::json!({ "code": code, "message": message }).to_string().into_bytes(),
    };
    (status, [(header::CONTENT_TYPE, mime(encoding))], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Bytes {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).expect("write");
        Bytes::from(encoder.finish().expect("finish"))
    }

    fn headers(encoding: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_str(encoding).expect("header"));
        headers
    }

    #[test]
    fn gzip_bodies_inflate_within_the_limit() {
        let body = decompress(&headers("gzip"), gzip(b"hello"), 100).expect("inflates");
        assert_eq!(&body[..], b"hello");
    }

    #[test]
    fn a_gzip_bomb_is_too_large() {
        let bomb = gzip(&vec![0u8; 1 << 20]);
        let err = decompress(&headers("gzip"), bomb, 1000).expect_err("too large");
        assert_eq!(err.0, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn corrupt_gzip_and_unknown_encodings_are_refused() {
        assert_eq!(
            decompress(&headers("gzip"), Bytes::from_static(b"nope"), 100).expect_err("corrupt").0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            decompress(&headers("br"), Bytes::from_static(b"x"), 100).expect_err("unknown").0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }
}
