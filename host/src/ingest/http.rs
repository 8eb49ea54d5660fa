//! OTLP over HTTP: `POST /v1/traces` with protobuf or JSON bodies, optionally gzip- or deflate-compressed.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use prost::Message;

use super::compression::Compression;
use super::{Encoding, IngestError, Ingestor};

/// `google.rpc.Status`, the body of an OTLP/HTTP error reply in protobuf.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// The `POST /v1/traces` handler.
pub async fn export_traces(
    State(ingestor): State<Ingestor>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let encoding = content_type(&headers);
    // A body that could not be read is answered first, as it was before the type was looked at.
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let encoding = encoding.as_ref().ok().copied().unwrap_or(Encoding::Json);
            return refused(encoding, &IngestError::Body(rejection.into()));
        }
    };
    let encoding = match encoding {
        Ok(encoding) => encoding,
        Err(message) => return error(Encoding::Json, StatusCode::UNSUPPORTED_MEDIA_TYPE, message),
    };
    let content_encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok());
    let compression = match Compression::from_header(content_encoding) {
        Ok(compression) => compression,
        Err(err) => return error(encoding, StatusCode::UNSUPPORTED_MEDIA_TYPE, err.to_string()),
    };
    let project = headers.get("x-project-name").and_then(|v| v.to_str().ok()).map(str::to_owned);
    match ingestor.export(body, compression, encoding, project, "http").await {
        Ok(reply) => {
            let body = match encoding {
                Encoding::Protobuf => reply.encode_to_vec(),
                Encoding::Json => serde_json::to_vec(&reply).unwrap_or_else(|_| b"{}".to_vec()),
            };
            ([(header::CONTENT_TYPE, mime(encoding))], body).into_response()
        }
        Err(err) => refused(encoding, &err),
    }
}

/// The answer to a refused export, from the one table both transports use.
fn refused(encoding: Encoding, err: &IngestError) -> Response {
    let refusal = err.refusal();
    let mut response = rpc_error(encoding, refusal.http, refusal.grpc as i32, refusal.message);
    if let Some(wait) = refusal.retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
    }
    response
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

/// A refusal of the request itself (its content type or encoding), before it is read.
fn error(encoding: Encoding, status: StatusCode, message: String) -> Response {
    rpc_error(encoding, status, tonic::Code::InvalidArgument as i32, message)
}

/// An error reply: `google.rpc.Status` with the gRPC `code` the same error gets on OTLP/gRPC.
fn rpc_error(encoding: Encoding, status: StatusCode, code: i32, message: String) -> Response {
    let body = match encoding {
        Encoding::Protobuf => RpcStatus { code, message }.encode_to_vec(),
        Encoding::Json => serde_json::json!({ "code": code, "message": message }).to_string().into_bytes(),
    };
    (status, [(header::CONTENT_TYPE, mime(encoding))], body).into_response()
}
