//! The HTTP client behind `outbound-http`: sends what the sandbox let through, keeping the
//! promises that need the network.
//!
//! - Names are resolved here and every resolved address is checked: a granted host that resolves
//!   to a private, loopback or link-local address is refused unless private addresses were granted
//!   too (DNS rebinding gets the same answer: the check runs on the addresses connected to).
//! - Redirects are not followed (a redirect could leave the granted hosts); no proxy from the
//!   environment is used.
//! - Secret headers are filled in here, and a secret's value is scrubbed from the response's
//!   headers and body before the plugin sees them, should a server echo it back.
//! - The response body is capped.

use std::io;
use std::sync::Arc;

use ember_sandbox::{is_private_ip, Outbound, OutboundError, OutboundRequest, OutboundResponse};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::Agent;

use crate::secrets::{SecretValue, Secrets};

/// What a scrubbed secret value is replaced with.
const SCRUBBED: &[u8] = b"[secret]";

/// Sends requests for provider plugins.
#[derive(Clone)]
pub struct HttpTransport {
    strict: Agent,
    permissive: Agent,
    secrets: Secrets,
    max_response_bytes: u64,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport").field("max_response_bytes", &self.max_response_bytes).finish_non_exhaustive()
    }
}

/// Refuses names that resolve to a private address.
#[derive(Debug, Default)]
struct PublicOnly(DefaultResolver);

/// The marker of a refusal inside ureq's I/O error.
const PRIVATE_MARKER: &str = "resolves to a private, loopback or link-local address";

impl Resolver for PublicOnly {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addresses = self.0.resolve(uri, config, timeout)?;
        if let Some(private) = addresses.iter().find(|address| is_private_ip(address.ip())) {
            let host = uri.host().unwrap_or_default();
            let message = format!("host {host} {PRIVATE_MARKER} ({})", private.ip());
            return Err(ureq::Error::Io(io::Error::new(io::ErrorKind::PermissionDenied, message)));
        }
        Ok(addresses)
    }
}

fn agent(resolver: impl Resolver) -> Agent {
    let config =
        Agent::config_builder().http_status_as_error(false).max_redirects(0).proxy(None).user_agent("ember").build();
    Agent::with_parts(config, DefaultConnector::default(), resolver)
}

impl HttpTransport {
    /// A client filling secret headers from `secrets`, reading at most `max_response_bytes`.
    pub fn new(secrets: Secrets, max_response_bytes: u64) -> Self {
        Self {
            strict: agent(PublicOnly::default()),
            permissive: agent(DefaultResolver::default()),
            secrets,
            max_response_bytes,
        }
    }

    /// This client as the sandbox's `outbound-http` service.
    pub fn into_service(self) -> Arc<dyn Outbound> {
        Arc::new(self)
    }

    fn build(
        &self,
        request: &OutboundRequest,
        used: &mut Vec<SecretValue>,
    ) -> Result<http::Request<Vec<u8>>, OutboundError> {
        let mut builder = http::Request::builder().method(request.method.as_str()).uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let host = request.url.host_str().map(str::to_ascii_lowercase);
        for header in &request.secret_headers {
            let secret = self
                .secrets
                .value(&header.secret)
                .ok_or_else(|| OutboundError::MissingSecret(header.secret.clone()))?;
            // The binding is the secret's own, checked whatever hosts the plugin was granted.
            let host = host.as_deref().unwrap_or_default();
            if !secret.may_go_to(host) {
                tracing::warn!(secret = %header.secret, %host, "refused to send a secret to a host it is not bound to");
                return Err(OutboundError::Denied(format!(
                    "secret {} is not bound to host {host}; bind it with PUT /v1/secrets (hosts)",
                    header.secret
                )));
            }
            let value = secret.value;
            let mut filled = http::HeaderValue::from_str(&header.template.replace("{secret}", value.as_str()))
                .map_err(|_| {
                    OutboundError::InvalidRequest(format!("secret {} is not a valid header value", header.secret))
                })?;
            filled.set_sensitive(true);
            builder = builder.header(header.name.as_str(), filled);
            used.push(value);
        }
        builder.body(request.body.clone()).map_err(|err| OutboundError::InvalidRequest(err.to_string()))
    }
}

impl Outbound for HttpTransport {
    fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let mut used = Vec::new();
        let built = self.build(&request, &mut used)?;
        let agent = if request.allow_private { &self.permissive } else { &self.strict };
        let built = agent.configure_request(built).timeout_global(Some(request.timeout)).build();
        let mut response = agent.run(built).map_err(map_error)?;
        let status = response.status().as_u16();
        // An encoded body would hide an echoed secret from scrubbing; none was asked for.
        if let Some(encoding) = response.headers().get(http::header::CONTENT_ENCODING) {
            if !encoding.as_bytes().eq_ignore_ascii_case(b"identity") {
                return Err(OutboundError::Connection(format!(
                    "the server sent an encoded body ({}) that was not asked for",
                    String::from_utf8_lossy(encoding.as_bytes())
                )));
            }
        }
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let limit = self.max_response_bytes.min(request.max_response_bytes);
        let mut body = response.body_mut().with_config().limit(limit).read_to_vec().map_err(|err| match err {
            ureq::Error::BodyExceedsLimit(_) => OutboundError::TooLarge(limit),
            other => map_error(other),
        })?;
        for secret in used.iter().filter(|secret| !secret.is_empty()) {
            for (name, value) in &mut headers {
                for text in [name, value] {
                    if text.contains(secret.as_str()) {
                        *text = text.replace(secret.as_str(), "[secret]");
                    }
                }
            }
            body = scrub(&body, secret.as_bytes());
        }
        Ok(OutboundResponse { status, headers, body })
    }
}

/// `haystack` with every occurrence of `needle` replaced by [`SCRUBBED`].
fn scrub(haystack: &[u8], needle: &[u8]) -> Vec<u8> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(needle.len()).position(|window| window == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(SCRUBBED);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

fn map_error(err: ureq::Error) -> OutboundError {
    match err {
        ureq::Error::Timeout(_) => OutboundError::Timeout,
        ureq::Error::BodyExceedsLimit(limit) => OutboundError::TooLarge(limit),
        ureq::Error::Io(io)
            if io.kind() == io::ErrorKind::PermissionDenied && io.to_string().contains(PRIVATE_MARKER) =>
        {
            OutboundError::Denied(io.to_string())
        }
        ureq::Error::Io(io) if io.kind() == io::ErrorKind::TimedOut => OutboundError::Timeout,
        ureq::Error::BadUri(message) => OutboundError::InvalidRequest(message),
        ureq::Error::Http(err) => OutboundError::InvalidRequest(err.to_string()),
        other => OutboundError::Connection(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_scrubbed_wherever_they_appear() {
        assert_eq!(scrub(b"a sk-1 b sk-1", b"sk-1"), b"a [secret] b [secret]".to_vec());
        assert_eq!(scrub(b"sk-1", b"sk-1"), b"[secret]".to_vec());
        assert_eq!(scrub(b"nothing", b"sk-1"), b"nothing".to_vec());
        assert_eq!(scrub(b"sk", b"sk-1"), b"sk".to_vec());
    }
}
