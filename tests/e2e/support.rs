//! Raw OTLP senders shared by the tests.

use bytes::{Buf, BufMut, Bytes};
use ember_workload::TraceGenerator;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use crate::harness::Ember;

/// POSTs an OTLP protobuf body; returns status, headers and body bytes.
pub async fn post_protobuf(
    ember: &Ember,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Bytes) {
    let mut request =
        ember.client.post(ember.url("/v1/traces")).header("content-type", "application/x-protobuf").body(body);
    for (key, value) in headers {
        request = request.header(*key, *value);
    }
    let response = request.send().await.expect("POST /v1/traces");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.expect("body"))
}

/// Exports a generated request over HTTP and returns its span ids when it was accepted.
pub async fn export_generated(
    ember: &Ember,
    generator: &mut TraceGenerator,
    traces: usize,
    project: &str,
) -> (u16, Vec<String>) {
    let request = generator.request(traces, project);
    let ids = ember_workload::span_ids(&request);
    let (status, _, _) = post_protobuf(ember, request.encode_to_vec(), &[]).await;
    (status, ids)
}

pub fn decode_reply(body: &[u8]) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse::decode(body).expect("ExportTraceServiceResponse")
}

/// Sends raw bytes as a gRPC `TraceService/Export` request.
pub async fn grpc_export_raw(ember: &Ember, body: Vec<u8>) -> Result<ExportTraceServiceResponse, tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", ember.grpc))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect grpc");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::from_static("/opentelemetry.proto.collector.trace.v1.TraceService/Export");
    grpc.unary(tonic::Request::new(Bytes::from(body)), path, RawCodec).await.map(tonic::Response::into_inner)
}

pub async fn grpc_export(
    ember: &Ember,
    request: &ExportTraceServiceRequest,
) -> Result<ExportTraceServiceResponse, tonic::Status> {
    grpc_export_raw(ember, request.encode_to_vec()).await
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<ExportTraceServiceResponse>, tonic::Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        ExportTraceServiceResponse::decode(bytes).map(Some).map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

/// Exports `traces` generated traces to `project`, started `days_ago` days ago; the request sent.
pub async fn send_aged(ember: &Ember, project: &str, traces: usize, days_ago: u64) -> ExportTraceServiceRequest {
    let request = TraceGenerator::new().aged(days_ago).request(traces, project);
    let (status, _, _) = post_protobuf(ember, request.encode_to_vec(), &[]).await;
    assert_eq!(status, 200);
    request
}
