//! OpenID Connect sign-in: the authorization-code flow with PKCE against each configured
//! provider (`oidc_config`), discovery on first use, ID tokens verified against the provider's
//! JWKS (fetched again when a token names a key it does not hold, so key rotation needs no
//! restart), and the identity's groups and role read from the verified token.
//!
//! The flow's state, nonce and PKCE verifier travel in one short-lived HttpOnly cookie set by
//! `/oauth2/{idp}/login` and consumed by `/oauth2/{idp}/tokens`; a callback whose state does not
//! match the cookie's, a code the provider refuses (a replayed one), or an ID token that is
//! expired, for another audience or signed by an unknown key is refused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError, TokenResponse,
};
use serde_json::Value;
use tokio::sync::RwLock;

use super::oidc_config::OidcProvider;
use super::principal::Role;

/// How long discovered metadata (and its JWKS) is used before it is fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Largest discovery document, JWKS or token response read from a provider.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Why an OpenID Connect sign-in failed; the message is shown to the user on the login page.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("no identity provider named {0}")]
    UnknownProvider(String),
    #[error("the identity provider could not be reached or described itself wrongly: {0}")]
    Discovery(String),
    #[error("the sign-in was not started here or has expired; start again")]
    NoFlow,
    #[error("the sign-in state does not match; start again")]
    StateMismatch,
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    #[error("the identity provider refused the authorization code: {0}")]
    CodeRefused(String),
    #[error("the ID token is not acceptable: {0}")]
    BadIdToken(String),
    #[error("the identity provider did not say who you are (no email)")]
    NoEmail,
    #[error("{0}")]
    NotAllowed(String),
}

/// A verified identity from a provider.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: String,
    pub username: String,
    pub groups: Vec<String>,
    /// The role the provider's claims map to, if any mapping applies.
    pub role: Option<Role>,
}

/// A started sign-in: where to send the browser, and the cookie value that must come back.
#[derive(Debug)]
pub struct Started {
    pub authorize_url: String,
    pub flow_cookie: String,
}

/// The configured providers, with their discovered metadata.
#[derive(Debug, Clone, Default)]
pub struct Oidc {
    providers: Arc<Vec<ProviderState>>,
    http: reqwest::Client,
}

#[derive(Debug)]
struct ProviderState {
    config: OidcProvider,
    metadata: RwLock<Option<(CoreProviderMetadata, Instant)>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HttpError(String);

impl Oidc {
    /// A service for `providers`. Nothing is fetched until a sign-in starts, so the server
    /// starts while a provider is down.
    pub fn new(providers: Vec<OidcProvider>) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let providers = providers.into_iter().map(|config| ProviderState { config, metadata: RwLock::new(None) });
        Self { providers: Arc::new(providers.collect()), http }
    }

    /// The configured providers.
    pub fn providers(&self) -> impl Iterator<Item = &OidcProvider> {
        self.providers.iter().map(|p| &p.config)
    }

    /// The provider named `name`.
    pub fn provider(&self, name: &str) -> Result<&OidcProvider, OidcError> {
        Ok(&self.state(name)?.config)
    }

    fn state(&self, name: &str) -> Result<&ProviderState, OidcError> {
        self.providers.iter().find(|p| p.config.name == name).ok_or_else(|| OidcError::UnknownProvider(name.to_owned()))
    }

    /// Starts a sign-in with provider `name`, coming back to `redirect_uri`.
    pub async fn start(&self, name: &str, redirect_uri: &str) -> Result<Started, OidcError> {
        let provider = self.state(name)?;
        let client = self.client(provider, redirect_uri, false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .set_pkce_challenge(challenge)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()));
        for scope in &provider.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let flow_cookie = format!("{name}.{}.{}.{}", state.secret(), nonce.secret(), verifier.secret());
        Ok(Started { authorize_url: url.to_string(), flow_cookie })
    }

    /// Finishes a sign-in: checks `state` against the flow cookie, exchanges `code` with the PKCE
    /// verifier, and verifies the ID token (signature, issuer, audience, expiry, nonce).
    pub async fn finish(
        &self,
        name: &str,
        redirect_uri: &str,
        code: &str,
        state: &str,
        flow_cookie: Option<&str>,
    ) -> Result<Identity, OidcError> {
        let provider = self.state(name)?;
        let flow = flow_cookie.ok_or(OidcError::NoFlow)?;
        let mut parts = flow.splitn(4, '.');
        let (Some(idp), Some(expected), Some(nonce), Some(verifier)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OidcError::NoFlow);
        };
        if idp != name {
            return Err(OidcError::NoFlow);
        }
        if !same_secret(expected.as_bytes(), state.as_bytes()) {
            return Err(OidcError::StateMismatch);
        }
        let client = self.client(provider, redirect_uri, false).await?;
        let http = self.http_client();
        let exchange = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|err| OidcError::Discovery(err.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
        let response = exchange.request_async(&http).await.map_err(|err| OidcError::CodeRefused(token_error(&err)))?;
        let id_token =
            response.id_token().ok_or_else(|| OidcError::BadIdToken("the response has no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_owned());
        let verified = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
                // The provider rotated its keys: fetch the JWKS again and retry once.
                let client = self.client(provider, redirect_uri, true).await?;
                let verifier = client.id_token_verifier();
                let subject = id_token.claims(&verifier, &nonce).map(|claims| claims.subject().to_string());
                subject
            }
            other => other.map(|claims| claims.subject().to_string()),
        };
        let subject = verified.map_err(|err| OidcError::BadIdToken(err.to_string()))?;
        // The signature over exactly these bytes was verified above: its payload can be read.
        let claims = payload(&id_token.to_string()).ok_or_else(|| OidcError::BadIdToken("unreadable claims".into()))?;
        identity(&provider.config, subject, &claims)
    }

    fn http_client(
        &self,
    ) -> impl Fn(
        openidconnect::HttpRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send>,
    > + '_ {
        move |request| Box::pin(send(self.http.clone(), request))
    }

    async fn client(
        &self,
        provider: &ProviderState,
        redirect_uri: &str,
        refetch: bool,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        OidcError,
    > {
        let metadata = self.metadata(provider, refetch).await?;
        let config = &provider.config;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(config.client_secret.expose().to_owned())),
        );
        let redirect =
            RedirectUrl::new(redirect_uri.to_owned()).map_err(|err| OidcError::Discovery(err.to_string()))?;
        Ok(client.set_redirect_uri(redirect))
    }

    async fn metadata(&self, provider: &ProviderState, refetch: bool) -> Result<CoreProviderMetadata, OidcError> {
        if !refetch {
            if let Some((metadata, at)) = provider.metadata.read().await.as_ref() {
                if at.elapsed() < METADATA_TTL {
                    return Ok(metadata.clone());
                }
            }
        }
        let issuer =
            IssuerUrl::new(provider.config.issuer.clone()).map_err(|err| OidcError::Discovery(err.to_string()))?;
        let http = self.http_client();
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|err| OidcError::Discovery(error_chain(&err)))?;
        *provider.metadata.write().await = Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }
}

async fn send(
    http: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|err| HttpError(error_chain(&err)))?;
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let bytes = response.bytes().await.map_err(|err| HttpError(err.to_string()))?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(HttpError(format!("the provider's response is over {MAX_RESPONSE_BYTES} bytes")));
    }
    builder.body(bytes.to_vec()).map_err(|err| HttpError(err.to_string()))
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The provider's answer to a refused code exchange (`invalid_grant` for a replayed code).
fn token_error<E: std::error::Error + 'static>(
    err: &openidconnect::RequestTokenError<
        E,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> String {
    match err {
        openidconnect::RequestTokenError::ServerResponse(response) => response.error().to_string(),
        other => error_chain(other),
    }
}

/// Equality of two secrets without a timing side channel on their bytes: their digests are
/// compared, which tells an attacker nothing about how close a guess was.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    Sha256::digest(a) == Sha256::digest(b)
}

/// The JSON payload of a compact JWT.
fn payload(jwt: &str) -> Option<Value> {
    let body = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body.trim_end_matches('=')).ok()?).ok()
}

/// The value at a dotted `path` of `claims`, as strings (a string or a list of strings).
fn strings_at(claims: &Value, path: &str) -> Vec<String> {
    let value = path.split('.').try_fold(claims, |value, key| value.get(key));
    match value {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// Who the verified claims say the user is, checked against the provider's rules.
fn identity(provider: &OidcProvider, subject: String, claims: &Value) -> Result<Identity, OidcError> {
    let email = claims.get("email").and_then(Value::as_str).filter(|e| e.contains('@')).ok_or(OidcError::NoEmail)?;
    let username = ["preferred_username", "name"]
        .iter()
        .find_map(|key| claims.get(*key).and_then(Value::as_str).filter(|v| !v.trim().is_empty()))
        .map(str::to_owned)
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_owned());
    let groups = strings_at(claims, provider.groups_path.as_deref().unwrap_or("groups"));
    if !provider.allowed_groups.is_empty() && !groups.iter().any(|g| provider.allowed_groups.contains(g)) {
        return Err(OidcError::NotAllowed("you are in none of the groups allowed to sign in here".into()));
    }
    let candidates = match &provider.role_path {
        Some(path) => strings_at(claims, path),
        None => groups.clone(),
    };
    let role = provider.role_mapping.iter().filter(|(name, _)| candidates.contains(name)).map(|(_, role)| *role).max();
    if role.is_none() && provider.role_strict {
        return Err(OidcError::NotAllowed("no role is mapped for you on this server".into()));
    }
    Ok(Identity { subject, email: email.to_owned(), username, groups, role })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::oidc_config::providers_from;
    use serde_json::json;

    fn provider(extra: &[(&str, &str)]) -> OidcProvider {
        let mut vars = vec![
            ("EMBER_OAUTH2_T_CLIENT_ID".to_owned(), "id".to_owned()),
            ("EMBER_OAUTH2_T_CLIENT_SECRET".to_owned(), "secret".to_owned()),
            ("EMBER_OAUTH2_T_OIDC_CONFIG_URL".to_owned(), "http://127.0.0.1:1".to_owned()),
        ];
        vars.extend(extra.iter().map(|(k, v)| (format!("EMBER_OAUTH2_T_{k}"), (*v).to_owned())));
        providers_from(vars).unwrap().remove(0)
    }

    #[test]
    fn groups_map_to_the_highest_role_and_strict_refuses_the_unmapped() {
        let idp = provider(&[("ROLE_MAPPING", "devs:MEMBER,admins:ADMIN"), ("GROUPS_ATTRIBUTE_PATH", "realm.groups")]);
        let claims = json!({ "email": "a@example.com", "realm": { "groups": ["devs", "admins"] } });
        let who = identity(&idp, "s".into(), &claims).unwrap();
        assert_eq!(who.role, Some(Role::Admin));
        assert_eq!(who.username, "a");
        let strict = provider(&[("ROLE_MAPPING", "devs:MEMBER"), ("ROLE_ATTRIBUTE_STRICT", "true")]);
        assert!(identity(&strict, "s".into(), &json!({ "email": "b@example.com" })).is_err());
        assert!(matches!(identity(&idp, "s".into(), &json!({})), Err(OidcError::NoEmail)));
        let gated = provider(&[("ALLOWED_GROUPS", "staff")]);
        assert!(identity(&gated, "s".into(), &json!({ "email": "c@example.com", "groups": ["guests"] })).is_err());
    }

    #[test]
    fn a_jwt_payload_is_read() {
        let body = URL_SAFE_NO_PAD.encode(br#"{"sub":"x","groups":["g"]}"#);
        let claims = payload(&format!("e30.{body}.sig")).unwrap();
        assert_eq!(strings_at(&claims, "groups"), ["g"]);
    }
}
