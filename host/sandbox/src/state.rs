//! The per-call host state: limits, the capped log, the plugin's configuration and grants, and
//! the host side of the `host`, `llm` and `outbound-http` imports.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;

use crate::bindings::{host, llm, outbound_http, types};
use crate::limits::{Grants, Limits};
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
    pub log_dropped: u64,
    config: Arc<str>,
    grants: Arc<Grants>,
    pub denial: Option<Denial>,
    /// Created on the first WASI call: pure components never pay for it.
    wasi: Option<Box<DenyAllWasi>>,
    table: ResourceTable,
}

impl HostState {
    pub fn new(limits: &Limits, config: Arc<str>, grants: Arc<Grants>) -> Self {
        Self {
            limiter: MemoryLimiter {
                limit: usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
                total: 0,
                refused: None,
            },
            log: Vec::new(),
            log_bytes: 0,
            max_log_bytes: limits.max_log_bytes,
            log_dropped: 0,
            config,
            grants,
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
        let wasi = self.wasi.get_or_insert_with(|| Box::new(DenyAllWasi::new(max_output)));
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
        _request: crate::ChatRequest,
    ) -> wasmtime::Result<Result<crate::ChatResponse, ChatError>> {
        if !self.grants.llm {
            return Err(self.deny("llm", "this plugin was not granted LLM access".into()));
        }
        let provider = provider.unwrap_or_else(|| "the configured provider".into());
        Ok(Err(ChatError::Unavailable(format!("no provider plugin is installed to serve {provider}"))))
    }
}

impl outbound_http::Host for HostState {
    fn send(
        &mut self,
        request: outbound_http::Request,
    ) -> wasmtime::Result<Result<outbound_http::Response, outbound_http::HttpError>> {
        let host = match url_host(&request.url) {
            Some(host) => host,
            None => return Ok(Err(outbound_http::HttpError::InvalidRequest(format!("bad URL {:?}", request.url)))),
        };
        if !self.grants.allows_host(&host) {
            return Err(self.deny("http", format!("host {host} is not granted")));
        }
        if !self.grants.private_addresses && is_private_literal(&host) {
            return Err(self.deny("http", format!("address {host} is private, loopback or link-local")));
        }
        if let Some(header) = request.secret_headers.iter().find(|h| !self.grants.secrets.contains(&h.secret)) {
            let detail = format!("secret {} is not granted", header.secret);
            return Err(self.deny("secret", detail));
        }
        Ok(Err(outbound_http::HttpError::Connection(format!(
            "outbound HTTP to {host} is not available in this server build"
        ))))
    }
}

/// The lowercase host of an `http(s)://` URL, without port, brackets or trailing dot. URLs that
/// URL parsers disagree about (backslashes, whitespace, control characters, percent-encoded
/// hosts) are refused rather than guessed at.
fn url_host(url: &str) -> Option<String> {
    if url.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control()) {
        return None;
    }
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    (!host.is_empty() && !host.contains('%')).then(|| host.to_ascii_lowercase())
}

/// Whether `host` is an IP literal the host refuses by default.
fn is_private_literal(host: &str) -> bool {
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            ip.is_private() || ip.is_loopback() || ip.is_link_local() || ip.is_unspecified() || ip.is_broadcast()
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            let segments = ip.segments();
            ip.is_loopback()
                || ip.is_unspecified()
                || (segments[0] & 0xfe00) == 0xfc00
                || (segments[0] & 0xffc0) == 0xfe80
                || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_private() || v4.is_loopback() || v4.is_link_local())
        }
        Err(_) => host == "localhost" || host.ends_with(".localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts_are_extracted_without_ports_or_credentials() {
        assert_eq!(url_host("https://api.openai.com/v1/chat").as_deref(), Some("api.openai.com"));
        assert_eq!(url_host("http://user:pw@Example.COM:8080/x").as_deref(), Some("example.com"));
        assert_eq!(url_host("http://[::1]:6006/").as_deref(), Some("::1"));
        assert_eq!(url_host("ftp://example.com"), None);
        assert_eq!(url_host("https:///nohost"), None);
        assert_eq!(url_host(r"http://evil.com\@granted.com/"), None, "parsers disagree on backslashes");
        assert_eq!(url_host("http://granted.com./x").as_deref(), Some("granted.com"));
        assert_eq!(url_host("http://gr%61nted.com/"), None);
    }

    #[test]
    fn private_literals_are_recognised() {
        for host in
            ["127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "fd00::1", "fe80::1", "localhost"]
        {
            assert!(is_private_literal(host), "{host}");
        }
        for host in ["8.8.8.8", "api.openai.com", "2606:4700::1111"] {
            assert!(!is_private_literal(host), "{host}");
        }
    }
}
