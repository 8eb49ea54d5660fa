//! Checks an `outbound-http` request against the plugin's grants before anything is sent.
//!
//! The URL is parsed with the WHATWG parser (`url`), the same normalisation browsers use, and the
//! normalised URL is what the client sends: `http://2130706433/` is checked, and sent, as
//! `http://127.0.0.1/`. Credentials in URLs are refused (secrets go through secret headers), and so
//! are headers that would change where or how the request travels.

use std::net::IpAddr;
use std::time::Duration;

use url::{Host, Url};

use crate::limits::Grants;
use crate::services::{OutboundRequest, SecretHeader};

/// Why a request was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Malformed: returned to the plugin as `invalid-request`.
    Invalid(String),
    /// Outside the grants: ends the plugin's call with capability-denied.
    Denied { capability: &'static str, detail: String },
}

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// Headers the client owns: routing, framing and hop-by-hop headers.
/// `accept-encoding` and ranges are reserved too: a compressed or partial reply would hide an
/// echoed secret from the host's scrubbing.
const RESERVED_HEADERS: [&str; 13] = [
    "host",
    "accept-encoding",
    "range",
    "if-range",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
];

/// The raw parts of a plugin's request, as the WIT bindings deliver them.
pub(crate) struct RawRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub secret_headers: Vec<SecretHeader>,
    pub body: Vec<u8>,
    pub timeout: Option<Duration>,
    /// The calling plugin's transfer cap: the most the response may carry back into it.
    pub max_response_bytes: u64,
}

/// Checks `raw` against `grants`; `remaining` is what is left of the call's deadline.
pub(crate) fn check(raw: RawRequest, grants: &Grants, remaining: Duration) -> Result<OutboundRequest, Refusal> {
    let method = raw.method.to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(Refusal::Invalid(format!("method {:?} is not supported", raw.method)));
    }
    let url = Url::parse(&raw.url).map_err(|err| Refusal::Invalid(format!("bad URL {:?}: {err}", raw.url)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::Invalid(format!("URL scheme {:?} is not http or https", url.scheme())));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Invalid("credentials in URLs are refused; use a secret header".into()));
    }
    let host = match url.host() {
        Some(Host::Domain(domain)) => domain.trim_end_matches('.').to_ascii_lowercase(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(Refusal::Invalid(format!("URL {:?} has no host", raw.url))),
    };
    if host.is_empty() {
        return Err(Refusal::Invalid(format!("URL {:?} has no host", raw.url)));
    }
    if !grants.allows_host(&host) {
        return Err(Refusal::Denied { capability: "http", detail: format!("host {host} is not granted") });
    }
    if !grants.private_addresses && is_private_host(&host) {
        return Err(Refusal::Denied {
            capability: "http",
            detail: format!("address {host} is private, loopback or link-local"),
        });
    }
    if let Some(header) = raw.secret_headers.iter().find(|h| !grants.secrets.contains(&h.secret)) {
        return Err(Refusal::Denied {
            capability: "secret",
            detail: format!("secret {} is not granted", header.secret),
        });
    }
    // A secret crosses the network in clear over plain HTTP: only to local servers, whose
    // addresses had to be granted explicitly.
    if !raw.secret_headers.is_empty() && url.scheme() == "http" && !grants.private_addresses {
        return Err(Refusal::Denied {
            capability: "secret",
            detail: format!("secrets are sent over https only (host {host})"),
        });
    }
    let headers = raw
        .headers
        .into_iter()
        .map(|(name, value)| check_header(&name, &value).map(|name| (name, value)))
        .collect::<Result<Vec<_>, _>>()?;
    let secret_headers = raw
        .secret_headers
        .into_iter()
        .map(|header| {
            if !header.template.contains("{secret}") {
                return Err(Refusal::Invalid(format!(
                    "secret header {} has no {{secret}} in its template",
                    header.name
                )));
            }
            let name = check_header(&header.name, &header.template)?;
            Ok(SecretHeader { name, ..header })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let timeout = raw.timeout.map_or(remaining, |asked| asked.min(remaining));
    Ok(OutboundRequest {
        method,
        url,
        headers,
        secret_headers,
        body: raw.body,
        timeout,
        allow_private: grants.private_addresses,
        max_response_bytes: raw.max_response_bytes,
    })
}

/// A valid, lower-cased header name that the client does not own; values may not break lines.
fn check_header(name: &str, value: &str) -> Result<String, Refusal> {
    let token = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(Refusal::Invalid(format!("invalid header name {name:?}")));
    }
    let name = name.to_ascii_lowercase();
    if RESERVED_HEADERS.contains(&name.as_str()) {
        return Err(Refusal::Invalid(format!("header {name} is set by the host")));
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(Refusal::Invalid(format!("header {name} has a line break or NUL in its value")));
    }
    Ok(name)
}

/// Whether `host` (a normalised host name or IP) names a private, loopback or link-local place.
pub(crate) fn is_private_host(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(ip) => is_private_ip(ip),
        Err(_) => host == "localhost" || host.ends_with(".localhost"),
    }
}

/// Whether an address is private, loopback, link-local, unspecified, broadcast or otherwise
/// not on the public internet (CGNAT, documentation and benchmark ranges, unique-local IPv6).
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            let [a, b, ..] = ip.octets();
            ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(ip) => {
            let segments = ip.segments();
            let first = segments[0];
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address.
            let embedded = |high: u16, low: u16| {
                let [a, b] = high.to_be_bytes();
                let [c, d] = low.to_be_bytes();
                is_private_ip(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)))
            };
            (first == 0x0064 && segments[1] == 0xff9b && segments[2..6] == [0; 4] && embedded(segments[6], segments[7]))
                || (first == 0x2002 && embedded(segments[1], segments[2]))
                || (first & 0xffc0) == 0xfec0
                || (first & 0xff00) == 0xff00
                || ip.is_loopback()
                || ip.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || ip.to_ipv4_mapped().is_some_and(|v4| is_private_ip(IpAddr::V4(v4)))
                || ip.to_ipv4().is_some_and(|v4| first == 0 && is_private_ip(IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
mod tests;
