//! A realistic OpenInference workload for Ember's load tool (`ember-loadgen`), the store
//! benchmark and the end-to-end tests.
//!
//! Each trace is a RAG-style request: a CHAIN root, an LLM span with chat messages and token
//! counts, a RETRIEVER span with three documents, and a TOOL span, carrying 1–2 KB of text each.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

const WORDS: [&str; 32] = [
    "retrieval",
    "augmented",
    "generation",
    "context",
    "window",
    "token",
    "embedding",
    "vector",
    "latency",
    "throughput",
    "evaluation",
    "hallucination",
    "grounded",
    "answer",
    "question",
    "document",
    "policy",
    "customer",
    "invoice",
    "refund",
    "shipping",
    "account",
    "password",
    "reset",
    "order",
    "status",
    "delivery",
    "warranty",
    "product",
    "manual",
    "support",
    "agent",
];

/// Spans per generated trace.
pub const SPANS_PER_TRACE: usize = 4;

/// How much text the spans carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpanSize {
    /// About 1.4 KB of protobuf per span: 600-character messages, 300-character documents.
    #[default]
    Standard,
    /// About 2.6 KB per span: 1–2 KB LLM input and output, 700-character retrieval documents.
    Large,
}

impl SpanSize {
    /// Characters of a paragraph (a system prompt, an answer), of a question, of a retrieved
    /// document and of a tool's output.
    fn lengths(self) -> (usize, usize, usize, usize) {
        match self {
            Self::Standard => (600, 200, 300, 200),
            Self::Large => (1_500, 500, 700, 800),
        }
    }
}

/// Makes traces with random ids, as OpenTelemetry SDKs do.
#[derive(Debug)]
pub struct TraceGenerator {
    run_id: u32,
    next: u32,
    texts: Vec<String>,
    now_ns: u64,
    size: SpanSize,
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn text(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.to_owned()))
}

fn int(key: &str, value: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(value))
}

impl TraceGenerator {
    /// A generator whose ids start from a random run id, so that separate runs never collide.
    pub fn new() -> Self {
        Self::with_run_id(rand::random::<u32>() | 1)
    }

    /// A generator whose texts and session names derive from `run_id` (ids stay random).
    pub fn with_run_id(run_id: u32) -> Self {
        Self::sized(run_id, SpanSize::Standard)
    }

    /// The same generator, its traces starting `days` days in the past (for retention).
    pub fn aged(mut self, days: u64) -> Self {
        self.now_ns = self.now_ns.saturating_sub(days * 86_400 * 1_000_000_000);
        self
    }

    /// A generator of `size` spans, with a random run id.
    pub fn of_size(size: SpanSize) -> Self {
        Self::sized(rand::random::<u32>() | 1, size)
    }

    fn sized(run_id: u32, size: SpanSize) -> Self {
        let (paragraph_len, ..) = size.lengths();
        let mut seed = u64::from(run_id);
        let mut texts = Vec::with_capacity(64);
        for _ in 0..64 {
            let mut paragraph = String::with_capacity(paragraph_len + 100);
            while paragraph.len() < paragraph_len {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                paragraph.push_str(WORDS[(seed >> 59) as usize]);
                paragraph.push(' ');
            }
            texts.push(paragraph);
        }
        let now_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_nanos()).unwrap_or(u64::MAX));
        Self { run_id, next: 1, texts, now_ns, size }
    }

    fn text(&self, n: u32) -> &str {
        &self.texts[n as usize % self.texts.len()]
    }

    /// A random trace id (as OpenTelemetry SDKs make them, so indexes see realistic key order)
    /// with the sequence number in its last bytes.
    fn ids(&mut self) -> ([u8; 16], u32) {
        let seq = self.next;
        self.next = self.next.wrapping_add(1);
        let mut trace_id: [u8; 16] = rand::random();
        trace_id[12..].copy_from_slice(&seq.to_be_bytes());
        (trace_id, seq)
    }

    /// Random span ids; the index in the last byte keeps the four spans of a trace distinct.
    fn span_ids(&self) -> [Vec<u8>; SPANS_PER_TRACE] {
        std::array::from_fn(|index| {
            let mut id: [u8; 8] = rand::random();
            id[7] = index as u8 + 1;
            id.to_vec()
        })
    }

    /// One trace of `SPANS_PER_TRACE` spans in session `session`.
    pub fn trace(&mut self, session: Option<&str>) -> Vec<Span> {
        let (trace_id, seq) = self.ids();
        let start = self.now_ns + u64::from(seq) * 1_000_000;
        let span_ids = self.span_ids();
        let root_id = span_ids[0].clone();
        let span = |index: u8, name: &str, offset_ms: u64, duration_ms: u64, attributes: Vec<KeyValue>| Span {
            trace_id: trace_id.to_vec(),
            span_id: span_ids[index as usize].clone(),
            parent_span_id: if index == 0 { Vec::new() } else { root_id.clone() },
            name: name.to_owned(),
            kind: 1,
            start_time_unix_nano: start + offset_ms * 1_000_000,
            end_time_unix_nano: start + (offset_ms + duration_ms) * 1_000_000,
            attributes,
            status: Some(Status { code: 1, message: String::new() }),
            ..Default::default()
        };
        let (_, question_len, document_len, tool_len) = self.size.lengths();
        let question = format!("question {seq}: {}", &self.text(seq)[..question_len]);
        let answer = self.text(seq + 1).to_owned();
        let mut chain = vec![
            text("openinference.span.kind", "CHAIN"),
            text("input.value", &question),
            text("output.value", &answer),
            text("metadata", r#"{"tier": "gold", "region": "eu"}"#),
        ];
        if let Some(session) = session {
            chain.push(text("session.id", session));
        }
        let llm = vec![
            text("openinference.span.kind", "LLM"),
            text("llm.model_name", "gpt-4o-mini"),
            text("llm.provider", "openai"),
            text("llm.input_messages.0.message.role", "system"),
            text("llm.input_messages.0.message.content", self.text(seq + 2)),
            text("llm.input_messages.1.message.role", "user"),
            text("llm.input_messages.1.message.content", &question),
            text("llm.output_messages.0.message.role", "assistant"),
            text("llm.output_messages.0.message.content", &answer),
            int("llm.token_count.prompt", 350 + i64::from(seq % 50)),
            int("llm.token_count.completion", 120 + i64::from(seq % 30)),
            int("llm.token_count.total", 470 + i64::from(seq % 50) + i64::from(seq % 30)),
            text("llm.invocation_parameters", r#"{"temperature": 0.2, "max_tokens": 512}"#),
        ];
        let mut retriever = vec![text("openinference.span.kind", "RETRIEVER"), text("input.value", &question)];
        for doc in 0..3u32 {
            let prefix = format!("retrieval.documents.{doc}.document");
            retriever.push(text(&format!("{prefix}.id"), &format!("doc-{}", (seq + doc) % 1000)));
            retriever.push(text(&format!("{prefix}.content"), &self.text(seq + 3 + doc)[..document_len]));
            retriever.push(kv(&format!("{prefix}.score"), any_value::Value::DoubleValue(0.9 - f64::from(doc) * 0.1)));
        }
        let tool = vec![
            text("openinference.span.kind", "TOOL"),
            text("tool.name", "lookup_order"),
            text("tool.parameters", r#"{"order_id": "A-1001"}"#),
            text("input.value", r#"{"order_id": "A-1001"}"#),
            text("output.value", &self.text(seq + 7)[..tool_len]),
        ];
        vec![
            span(0, "rag.query", 0, 900, chain),
            span(1, "retrieve", 10, 80, retriever),
            span(2, "ChatCompletion", 100, 700, llm),
            span(3, "lookup_order", 810, 40, tool),
        ]
    }

    /// An export request with `traces` traces for project `project`.
    pub fn request(&mut self, traces: usize, project: &str) -> ExportTraceServiceRequest {
        let mut spans = Vec::with_capacity(traces * SPANS_PER_TRACE);
        for i in 0..traces {
            let session = format!("session-{}-{}", self.run_id, (self.next as usize + i) / 8);
            spans.extend(self.trace(Some(&session)));
        }
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        text("openinference.project.name", project),
                        text("service.name", "ember-loadgen"),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope { name: "ember.workload".into(), ..Default::default() }),
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }
}

impl Default for TraceGenerator {
    fn default() -> Self {
        Self::new()
    }
}

/// The hex span ids of a request, for checking what was stored.
pub fn span_ids(request: &ExportTraceServiceRequest) -> Vec<String> {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| hex::encode(&s.span_id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn traces_are_realistic_and_ids_unique() {
        let mut generator = TraceGenerator::with_run_id(7);
        let request = generator.request(50, "p");
        let ids = span_ids(&request);
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(ids.len(), 200);
        assert_eq!(unique.len(), 200);
        let bytes_per_span = request.encoded_len() / ids.len();
        assert!((1000..=2500).contains(&bytes_per_span), "{bytes_per_span} bytes per span");
    }

    #[test]
    fn large_spans_are_about_2_6_kb() {
        let request = TraceGenerator::sized(7, SpanSize::Large).request(50, "p");
        let bytes_per_span = request.encoded_len() / span_ids(&request).len();
        assert!((2400..=2800).contains(&bytes_per_span), "{bytes_per_span} bytes per span");
    }
}
