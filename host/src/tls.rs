//! TLS for the HTTP and gRPC listeners: rustls, with the certificate chain and key read from PEM
//! files and reloaded when they change (a certbot or cert-manager renewal needs no restart), and
//! optional client certificates checked against a CA (mutual TLS).
//!
//! A reload that fails (a half-written file, a key that does not match) keeps the configuration
//! that works and logs why; new connections pick up a good reload at once, open ones keep theirs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::ring::default_provider;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// How often the certificate files are checked for a change.
pub const RELOAD_CHECK: Duration = Duration::from_secs(2);

/// Where the listeners' TLS material lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM CA bundle for client certificates; none means clients are not asked for one.
    pub client_ca: Option<PathBuf>,
    /// Refuse clients without a certificate signed by `client_ca`.
    pub require_client_cert: bool,
}

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{0} holds no PEM certificate")]
    NoCertificate(PathBuf),
    #[error("the client CA file {0} holds no usable CA certificate")]
    NoClientCa(PathBuf),
    #[error("client certificate verification: {0}")]
    Verifier(String),
    #[error("the certificate and key are refused: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("client certificates are required but no client CA file is set")]
    RequiredWithoutCa,
}

/// The listeners' current TLS configuration, shared and swapped on reload.
#[derive(Debug, Clone)]
pub struct Tls {
    files: Arc<TlsFiles>,
    current: Arc<RwLock<Arc<ServerConfig>>>,
}

impl Tls {
    /// Reads the files; fails when any is missing or unusable, so that a misconfigured server
    /// does not start.
    pub fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let config = build(&files)?;
        Ok(Self { files: Arc::new(files), current: Arc::new(RwLock::new(Arc::new(config))) })
    }

    /// An acceptor with the configuration in force now.
    pub fn acceptor(&self) -> TlsAcceptor {
        let current = self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        TlsAcceptor::from(current.clone())
    }

    /// Re-reads the files; on failure the configuration in force stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = Arc::new(build(&self.files)?);
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = config;
        Ok(())
    }

    /// Checks the files every [`RELOAD_CHECK`] and reloads when one changed; runs until dropped.
    pub async fn watch(self) {
        let mut seen = self.stamps();
        let mut every = tokio::time::interval(RELOAD_CHECK);
        loop {
            every.tick().await;
            let now = self.stamps();
            if now == seen {
                continue;
            }
            seen = now;
            match self.reload() {
                Ok(()) => tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded"),
                Err(err) => tracing::error!(error = %err, "TLS reload failed; keeping the previous certificate"),
            }
        }
    }

    fn stamps(&self) -> Vec<Option<(SystemTime, u64)>> {
        let files = [Some(&self.files.cert), Some(&self.files.key), self.files.client_ca.as_ref()];
        files
            .into_iter()
            .flatten()
            .map(|path| std::fs::metadata(path).ok().and_then(|m| Some((m.modified().ok()?, m.len()))))
            .collect()
    }
}

fn read_err(path: &Path) -> impl FnOnce(rustls_pki_types::pem::Error) -> TlsError + '_ {
    move |err| TlsError::Read { path: path.to_owned(), message: err.to_string() }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(read_err(path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_err(path))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_owned()));
    }
    Ok(certs)
}

fn build(files: &TlsFiles) -> Result<ServerConfig, TlsError> {
    let certs = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(read_err(&files.key))?;
    let provider = Arc::new(default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let builder = match &files.client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(certificates(ca)?);
            if added == 0 {
                return Err(TlsError::NoClientCa(ca.clone()));
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if files.require_client_cert { verifier } else { verifier.allow_unauthenticated() };
            builder.with_client_cert_verifier(verifier.build().map_err(|err| TlsError::Verifier(err.to_string()))?)
        }
        None if files.require_client_cert => return Err(TlsError::RequiredWithoutCa),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key)?;
    // HTTP/2 first (gRPC needs it), HTTP/1.1 for browsers and curl.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_files_are_refused_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        let files = TlsFiles { cert: cert.clone(), key: key.clone(), client_ca: None, require_client_cert: false };
        let err = Tls::load(files.clone()).unwrap_err();
        assert!(err.to_string().contains("cert.pem"), "{err}");
        std::fs::write(&cert, "not a certificate\n").unwrap();
        std::fs::write(&key, "").unwrap();
        assert!(matches!(Tls::load(files.clone()), Err(TlsError::NoCertificate(_))));
        let mutual = TlsFiles { require_client_cert: true, ..files };
        assert!(matches!(build(&mutual), Err(TlsError::NoCertificate(_) | TlsError::RequiredWithoutCa)));
    }
}
