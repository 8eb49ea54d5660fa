//! The per-call host state: limits, the capped log, the plugin's configuration and grants, and
//! the host side of the `host`, `llm` and `outbound-http` imports.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;

use crate::bindings::{host, llm, outbound_http, types};
use crate::egress::{self, RawRequest, Refusal};
use crate::limits::{Grants, Limits};
use crate::services::{LlmCaller, OutboundError, SecretHeader, Services};
use crate::wasi::DenyAllWasi;
use crate::ChatError;

/// Severity of a plugin log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// One line a plugin logged during a call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
}

/// A capability the plugin tried to use without a grant; ends the call.
#[derive(Debug, Clone)]
pub(crate) struct Denial {
    pub capability: &'static str,
    pub detail: String,
}

/// Linear memory accounting for one store: the sum over all its memories stays under the limit.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    limit: usize,
    total: usize,
    /// The size a refused growth asked for, so that the trap that follows is reported as
    /// out-of-memory rather than as whatever the guest did on allocation failure.
    pub refused: Option<usize>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.total.saturating_sub(current).saturating_add(desired);
        if total > self.limit || maximum.is_some_and(|maximum| desired > maximum) {
            self.refused = Some(total);
            return Ok(false);
        }
        self.total = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Bytes a log line is charged beyond its text: what keeping it costs the host.
const LOG_LINE_OVERHEAD: u64 = 32;

/// Table elements one table may hold; generous for interpreters, bounded for hostile guests.
pub(crate) const MAX_TABLE_ELEMENTS: usize = 200_000;

/// Everything a call's `Store` carries.
pub(crate) struct HostState {
    pub limiter: MemoryLimiter,
    pub log: Vec<LogLine>,
    log_bytes: u64,
    max_log_bytes: u64,
    /// The call's transfer cap (`Limits::transfer_bytes`), for what the host fetches for it.
    transfer_bytes: u64,
    pub log_dropped: u64,
    config: Arc<str>,
    grants: Arc<Grants>,
    services: Services,
    /// When the call's wall-clock deadline passes; host calls that wait are clamped to it.
    deadline: Instant,
    pub denial: Option<Denial>,
    /// Created on the first WASI call: pure components never pay for it.
    wasi: Option<Box<DenyAllWasi>>,
    table: ResourceTable,
}

impl HostState {
    pub fn new(limits: &Limits, config: Arc<str>, grants: Arc<Grants>, services: Services, started: Instant) -> Self {
        Self {
            limiter: MemoryLimiter {
                limit: usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
                total: 0,
                refused: None,
            },
            log: Vec::new(),
            log_bytes: 0,
            max_log_bytes: limits.max_log_bytes,
            transfer_bytes: limits.transfer_bytes(),
            log_dropped: 0,
            config,
            grants,
            services,
            deadline: started + limits.deadline,
            denial: None,
            wasi: None,
            table: ResourceTable::new(),
        }
    }

    /// Appends to the capped log; returns whether the line was kept. Each line is charged a fixed
    /// overhead too, so that a flood of empty lines is capped like any other.
    pub fn push_log(&mut self, level: LogLevel, message: String) -> bool {
        let size = message.len() as u64 + LOG_LINE_OVERHEAD;
        if self.log_bytes + size > self.max_log_bytes {
            self.log_dropped += 1;
            return false;
        }
        self.log_bytes += size;
        self.log.push(LogLine { level, message });
        true
    }

    /// Moves what a WASI guest wrote to stdout and stderr into the log.
    pub fn collect_wasi_output(&mut self) {
        if let Some(wasi) = self.wasi.take() {
            for (level, text) in wasi.output() {
                for line in text.lines().filter(|line| !line.is_empty()) {
                    self.push_log(level, line.to_owned());
                }
            }
        }
    }

    pub(crate) fn deny(&mut self, capability: &'static str, detail: String) -> wasmtime::Error {
        let error = wasmtime::format_err!("capability denied: {capability}: {detail}");
        self.denial = Some(Denial { capability, detail });
        error
    }
}

impl wasmtime_wasi::WasiView for HostState {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        let max_output = usize::try_from(self.max_log_bytes).unwrap_or(usize::MAX);
        let max_random = self.transfer_bytes;
        let wasi = self.wasi.get_or_insert_with(|| Box::new(DenyAllWasi::new(max_output, max_random)));
        wasmtime_wasi::WasiCtxView { ctx: wasi.ctx(), table: &mut self.table }
    }
}

impl types::Host for HostState {}

impl crate::bindings::evaluator::ember::plugin::evaluation::Host for HostState {}

impl crate::bindings::span_processor::ember::plugin::spans::Host for HostState {}

impl host::Host for HostState {
    fn log(&mut self, level: host::LogLevel, message: String) {
        let level = match level {
            host::LogLevel::Trace => LogLevel::Trace,
            host::LogLevel::Debug => LogLevel::Debug,
            host::LogLevel::Info => LogLevel::Info,
            host::LogLevel::Warn => LogLevel::Warn,
            host::LogLevel::Error => LogLevel::Error,
        };
        self.push_log(level, message);
    }

    fn config(&mut self) -> String {
        self.config.to_string()
    }
}

impl crate::bindings::evaluator::ember::plugin::chat::Host for HostState {}

impl llm::Host for HostState {
    fn complete(
        &mut self,
        provider: Option<String>,
        request: crate::ChatRequest,
    ) -> wasmtime::Result<Result<crate::ChatResponse, ChatError>> {
        if !self.grants.llm {
            return Err(self.deny("llm", "this plugin was not granted LLM access".into()));
        }
        let Some(broker) = self.services.llm.clone() else {
            let provider = provider.unwrap_or_else(|| "the configured provider".into());
            return Ok(Err(ChatError::Unavailable(format!("no provider plugin is available to serve {provider}"))));
        };
        let caller = LlmCaller { config: &self.config, deadline: self.deadline };
        Ok(broker.complete(provider.as_deref(), request, &caller))
    }
}

impl outbound_http::Host for HostState {
    fn send(
        &mut self,
        request: outbound_http::Request,
    ) -> wasmtime::Result<Result<outbound_http::Response, outbound_http::HttpError>> {
        use outbound_http::HttpError;
        let raw = RawRequest {
            method: request.method,
            url: request.url,
            headers: request.headers.into_iter().map(|h| (h.name, h.value)).collect(),
            secret_headers: request
                .secret_headers
                .into_iter()
                .map(|h| SecretHeader { name: h.name, secret: h.secret, template: h.template })
                .collect(),
            body: request.body,
            timeout: request.timeout_ms.map(|ms| Duration::from_millis(u64::from(ms))),
            max_response_bytes: self.transfer_bytes,
        };
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let checked = match egress::check(raw, &self.grants, remaining) {
            Ok(checked) => checked,
            Err(Refusal::Invalid(message)) => return Ok(Err(HttpError::InvalidRequest(message))),
            Err(Refusal::Denied { capability, detail }) => return Err(self.deny(capability, detail)),
        };
        let Some(outbound) = self.services.outbound.clone() else {
            let host = checked.url.host_str().unwrap_or_default().to_owned();
            return Ok(Err(HttpError::Connection(format!("outbound HTTP to {host} is not available in this server"))));
        };
        match outbound.send(checked) {
            Ok(response) => Ok(Ok(outbound_http::Response {
                status: response.status,
                headers: response
                    .headers
                    .into_iter()
                    .map(|(name, value)| outbound_http::Header { name, value })
                    .collect(),
                body: response.body,
            })),
            Err(OutboundError::Denied(detail)) => Err(self.deny("http", detail)),
            Err(OutboundError::InvalidRequest(message)) => Ok(Err(HttpError::InvalidRequest(message))),
            Err(OutboundError::MissingSecret(name)) => {
                Ok(Err(HttpError::InvalidRequest(format!("secret {name} is not set on this server"))))
            }
            Err(OutboundError::Timeout) => Ok(Err(HttpError::Timeout)),
            Err(OutboundError::TooLarge(limit)) => Ok(Err(HttpError::TooLarge(limit))),
            Err(OutboundError::Connection(message)) => Ok(Err(HttpError::Connection(message))),
        }
    }
}
