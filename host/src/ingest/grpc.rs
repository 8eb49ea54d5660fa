//! OTLP over gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
//!
//! The service is written against tonic's server primitives rather than the generated server,
//! so that the request reaches Ember as raw bytes and spans are decoded one by one (see `otlp`).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

use super::{Compression, Encoding, IngestError, Ingestor};
use crate::auth::{Auth, AuthError, Permission};

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The OTLP trace service, ready to add to a tonic server.
#[derive(Debug, Clone)]
pub struct TraceService {
    ingestor: Ingestor,
    auth: Auth,
}

impl TraceService {
    /// The service, feeding `ingestor`; with authentication on, each call needs a credential with
    /// the `ingest` permission in its `authorization` metadata.
    pub fn new(ingestor: Ingestor, auth: Auth) -> Self {
        Self { ingestor, auth }
    }
}

/// Checks the `authorization` metadata (`Bearer <key>`, as `arize-phoenix-otel` and the
/// OpenTelemetry exporters send it) before the message is read.
async fn authorize(auth: &Auth, headers: &http::HeaderMap) -> Result<(), Status> {
    if !auth.enabled() {
        return Ok(());
    }
    let secret = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, secret)| secret.trim().to_owned())
        .ok_or_else(|| Status::unauthenticated(AuthError::Missing.to_string()))?;
    let principal = match auth.authenticate(&secret).await {
        Ok(principal) => principal,
        Err(AuthError::Store(err)) => {
            tracing::error!(error = %err, "credential lookup failed");
            return Err(Status::unavailable("credentials cannot be checked right now; retry"));
        }
        Err(err) => return Err(Status::unauthenticated(err.to_string())),
    };
    if !principal.allows(Permission::Ingest) {
        return Err(Status::permission_denied("this credential may not send spans (it needs the ingest permission)"));
    }
    Ok(())
}

impl NamedService for TraceService {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<B> tower::Service<http::Request<B>> for TraceService
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != EXPORT_PATH {
            return Box::pin(async { Ok(Status::unimplemented("unknown method").into_http()) });
        }
        let max_message = self.ingestor.max_body_bytes;
        let method = ExportMethod { ingestor: self.ingestor.clone() };
        let auth = self.auth.clone();
        Box::pin(async move {
            if let Err(status) = authorize(&auth, request.headers()).await {
                return Ok(status.into_http());
            }
            let mut grpc = Grpc::new(RawCodec)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max_message);
            Ok(grpc.unary(method, request).await)
        })
    }
}

struct ExportMethod {
    ingestor: Ingestor,
}

impl UnaryService<Bytes> for ExportMethod {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<Result<tonic::Response<ExportTraceServiceResponse>, Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let ingestor = self.ingestor.clone();
        Box::pin(async move {
            let project = request.metadata().get("x-project-name").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let body = request.into_inner();
            match ingestor.export(body, Compression::None, Encoding::Protobuf, project, "grpc").await {
                Ok(reply) => Ok(tonic::Response::new(reply)),
                Err(err) => Err(status_of(&err)),
            }
        })
    }
}

/// The gRPC status of a refused export; one worth retrying carries a `google.rpc.RetryInfo`
/// detail saying when (the counterpart of HTTP's `Retry-After`), which OTLP exporters honour.
fn status_of(err: &IngestError) -> Status {
    let refusal = err.refusal();
    match refusal.retry_after {
        Some(wait) => {
            Status::with_error_details(refusal.grpc, refusal.message, ErrorDetails::with_retry_info(Some(wait)))
        }
        None => Status::new(refusal.grpc, refusal.message),
    }
}

/// Hands the request message over as bytes and encodes replies with prost.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = ExportTraceServiceResponse;
    type Decode = Bytes;
    type Encoder = ReplyEncoder;
    type Decoder = BytesDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ReplyEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        BytesDecoder
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct ReplyEncoder;

impl Encoder for ReplyEncoder {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst).map_err(|err| Status::internal(format!("cannot encode reply: {err}")))
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct BytesDecoder;

impl Decoder for BytesDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        let len = src.remaining();
        Ok(Some(src.copy_to_bytes(len)))
    }
}
