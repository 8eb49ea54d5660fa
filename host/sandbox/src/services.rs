//! What the embedding server lends the sandbox for the imports that reach outside it: an HTTP
//! client for `outbound-http` and a broker for `llm`.
//!
//! The sandbox decides *whether* a request is allowed (grants, URL shape, IP literals, header
//! names); a [`Outbound`] implementation decides how it is sent and must keep the promises that
//! need the network: resolved addresses checked against `allow_private`, no redirects followed,
//! the timeout and the response cap applied, secret values filled in and scrubbed from replies.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{ChatError, ChatRequest, ChatResponse};

/// A request the sandbox has checked against the plugin's grants.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    /// Upper-case method: `GET`, `POST`, `PUT`, `PATCH`, `DELETE` or `HEAD`.
    pub method: String,
    /// The URL as normalised by the WHATWG parser, so what was checked is what is sent.
    pub url: url::Url,
    /// Plain headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Headers whose value the client builds from a granted secret.
    pub secret_headers: Vec<SecretHeader>,
    pub body: Vec<u8>,
    /// Already clamped to what is left of the plugin call's deadline.
    pub timeout: Duration,
    /// Whether the host name may resolve to private, loopback or link-local addresses.
    pub allow_private: bool,
    /// The most the response body may hold: the calling plugin's transfer cap (a client may cap
    /// it lower still).
    pub max_response_bytes: u64,
}

/// A header built from a secret: `template` with `{secret}` replaced by the secret's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretHeader {
    pub name: String,
    pub secret: String,
    pub template: String,
}

/// What came back, with any secret value already scrubbed.
#[derive(Debug, Clone, Default)]
pub struct OutboundResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a checked request could not be completed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("no answer within the timeout")]
    Timeout,
    #[error("the response exceeded {0} bytes")]
    TooLarge(u64),
    #[error("connection failed: {0}")]
    Connection(String),
    /// The host resolved to an address the plugin may not reach; ends the plugin's call.
    #[error("{0}")]
    Denied(String),
    /// A granted secret has no value on this server.
    #[error("secret {0} is not set on this server")]
    MissingSecret(String),
}

/// Sends checked requests for `outbound-http`.
pub trait Outbound: Send + Sync + 'static {
    fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError>;
}

/// The calling evaluator, as the `llm` broker sees it.
#[derive(Debug, Clone)]
pub struct LlmCaller<'a> {
    /// The evaluator's configuration (JSON object text); a broker may default the provider from it.
    pub config: &'a str,
    /// When the evaluator's call ends; a broker should give up before.
    pub deadline: Instant,
}

/// Serves the `llm` import: runs a chat completion through a provider plugin.
pub trait LlmBroker: Send + Sync + 'static {
    fn complete(
        &self,
        provider: Option<&str>,
        request: ChatRequest,
        caller: &LlmCaller<'_>,
    ) -> Result<ChatResponse, ChatError>;
}

/// The services a plugin's calls may use; absent ones make the import report unavailable.
#[derive(Clone, Default)]
pub struct Services {
    pub outbound: Option<Arc<dyn Outbound>>,
    pub llm: Option<Arc<dyn LlmBroker>>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("outbound", &self.outbound.is_some())
            .field("llm", &self.llm.is_some())
            .finish()
    }
}
