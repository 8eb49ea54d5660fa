//! TLS on both listeners with certificates made here by `openssl`: HTTPS and OTLP/gRPC over TLS
//! (the official OpenTelemetry exporter), plain HTTP refused, a renewed certificate served without
//! a restart (and a broken one ignored), mutual TLS, and PostgreSQL over TLS (`sslmode`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithTonicConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::{Certificate, ClientTlsConfig};

use crate::auth_clients::export_one_span;
use crate::harness::{Backend, Ember, TestDb};

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// `openssl req` making a new P-256 key `key`, with `rest` after it.
fn new_key_request(dir: &Path, key: &str, rest: &[&str]) {
    let mut args = vec!["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key];
    args.extend_from_slice(rest);
    openssl(dir, &args);
}

/// A CA (`{name}.pem`, `{name}.key`) in `dir`.
fn ca(dir: &Path, name: &str) {
    let (key, pem, subject) = (format!("{name}.key"), format!("{name}.pem"), format!("/CN={name}"));
    new_key_request(dir, &key, &["-x509", "-out", &pem, "-days", "2", "-subj", &subject]);
}

/// A certificate `{name}.pem` / `{name}.key` for `localhost` signed by CA `ca`, for `usage`
/// (`serverAuth` or `clientAuth`).
fn leaf(dir: &Path, name: &str, ca: &str, usage: &str) {
    let (key, csr, pem, ext) =
        (format!("{name}.key"), format!("{name}.csr"), format!("{name}.pem"), format!("{name}.ext"));
    let extensions =
        format!("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n");
    std::fs::write(dir.join(&ext), extensions).unwrap();
    new_key_request(dir, &key, &["-out", &csr, "-subj", &format!("/CN={name}")]);
    let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
    let sign = ["x509", "-req", "-in", &csr, "-CA", &ca_pem, "-CAkey", &ca_key, "-CAcreateserial", "-out", &pem];
    openssl(dir, &[&sign[..], &["-days", "2", "-extfile", &ext]].concat());
}

fn path(dir: &Path, file: &str) -> String {
    dir.join(file).display().to_string()
}

fn der(pem: &Path) -> Vec<u8> {
    CertificateDer::pem_file_iter(pem).unwrap().next().unwrap().unwrap().to_vec()
}

/// An HTTPS `GET path` over a fresh connection trusting `ca`, presenting `client` (cert, key) if
/// given; returns the status line and the server's certificate, or why the exchange failed.
async fn https_get(
    addr: SocketAddr,
    ca: &Path,
    client: Option<(&Path, &Path)>,
    path: &str,
) -> Result<(String, Vec<u8>), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(CertificateDer::pem_file_iter(ca).unwrap().map(Result::unwrap));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => {
            let certs = CertificateDer::pem_file_iter(cert).unwrap().map(Result::unwrap).collect();
            builder.with_client_auth_cert(certs, PrivateKeyDer::from_pem_file(key).unwrap()).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.map_err(|e| format!("handshake: {e}"))?;
    let peer = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()).unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await.map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&response);
    let status = text.lines().next().unwrap_or_default().to_owned();
    if status.is_empty() {
        return Err("no response".into());
    }
    Ok((status, peer))
}

fn http_addr(ember: &Ember) -> SocketAddr {
    ember.http.trim_start_matches("http://").parse().unwrap()
}

/// Sends one span with the official OTLP/gRPC exporter over TLS, trusting `ca`.
async fn export_over_tls(ember: &Ember, ca: &Path, project: &str) {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(ca).unwrap()))
        .domain_name("localhost");
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(format!("https://127.0.0.1:{}", ember.grpc.port()))
        .with_tls_config(tls)
        .build()
        .expect("exporter");
    export_one_span(exporter, project, "over-tls").await;
}

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        ca(dir.path(), "ca");
        leaf(dir.path(), "server", "ca", "serverAuth");
        ca(dir.path(), "clients");
        leaf(dir.path(), "client", "clients", "clientAuth");
        ca(dir.path(), "stranger-ca");
        leaf(dir.path(), "stranger", "stranger-ca", "clientAuth");
        Self { dir }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn https_and_grpc_over_tls_with_certificate_reload() {
    let pki = Pki::new();
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let (cert, key) = (path(pki.dir.path(), "server.pem"), path(pki.dir.path(), "server.key"));
    let ember = Ember::start_with(&db, &[("EMBER_TLS_CERT_FILE", &cert), ("EMBER_TLS_KEY_FILE", &key)]).await;
    let addr = http_addr(&ember);
    let ca = pki.file("ca.pem");

    let (status, served) = https_get(addr, &ca, None, "/healthz").await.expect("HTTPS");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(served, der(&pki.file("server.pem")));
    let plain = ember.client.get(ember.url("/healthz")).timeout(Duration::from_secs(5)).send().await;
    assert!(plain.is_err(), "plain HTTP must not be served on a TLS listener: {plain:?}");

    export_over_tls(&ember, &ca, "over-tls").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while db.stored_span_ids().await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the span sent over OTLP/gRPC with TLS was not stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A renewed certificate (written the way certbot does: new files in place) is served to new
    // connections without a restart.
    leaf(pki.dir.path(), "renewed", "ca", "serverAuth");
    std::fs::copy(pki.file("renewed.key"), pki.file("server.key.new")).unwrap();
    std::fs::copy(pki.file("renewed.pem"), pki.file("server.pem.new")).unwrap();
    std::fs::rename(pki.file("server.key.new"), pki.file("server.key")).unwrap();
    std::fs::rename(pki.file("server.pem.new"), pki.file("server.pem")).unwrap();
    let renewed = der(&pki.file("renewed.pem"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, served) = https_get(addr, &ca, None, "/healthz").await.expect("HTTPS during reload");
        if served == renewed {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the renewed certificate was never served");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A broken certificate file is refused on reload; the server keeps the good one.
    std::fs::write(pki.file("server.pem"), "-----BEGIN CERTIFICATE-----\ngarbage\n").unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (status, served) = https_get(addr, &ca, None, "/healthz").await.expect("still serving");
    assert!(status.starts_with("HTTP/1.1 200") && served == renewed, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mutual_tls_refuses_clients_without_a_trusted_certificate() {
    let pki = Pki::new();
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let dir = pki.dir.path();
    let env = [
        ("EMBER_TLS_CERT_FILE", path(dir, "server.pem")),
        ("EMBER_TLS_KEY_FILE", path(dir, "server.key")),
        ("EMBER_TLS_CA_FILE", path(dir, "clients.pem")),
        ("EMBER_TLS_VERIFY_CLIENT", "true".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let ember = Ember::start_with(&db, &env).await;
    let (addr, ca) = (http_addr(&ember), pki.file("ca.pem"));
    let client = (pki.file("client.pem"), pki.file("client.key"));
    let (status, _) = https_get(addr, &ca, Some((&client.0, &client.1)), "/healthz").await.expect("mutual TLS");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(https_get(addr, &ca, None, "/healthz").await.is_err(), "no client certificate must be refused");
    let stranger = (pki.file("stranger.pem"), pki.file("stranger.key"));
    let refused = https_get(addr, &ca, Some((&stranger.0, &stranger.1)), "/healthz").await;
    assert!(refused.is_err(), "a certificate from another CA must be refused: {refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_over_tls() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    let url = db.server_url().unwrap();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let (ssl,): (String,) = sqlx::query_as("SHOW ssl").fetch_one(&mut conn).await.unwrap();
    if ssl != "on" {
        eprintln!("\n!!! SKIPPING postgres_over_tls: this PostgreSQL server has ssl = {ssl}\n");
        return;
    }
    let required = format!("{url}?sslmode=require");
    let ember = Ember::start_with(&db, &[("EMBER_DATABASE_URL", &required)]).await;
    let (status, _) = ember.get_json("/readyz").await;
    assert_eq!(status, 200);
    let name = url.rsplit('/').next().unwrap().to_owned();
    let (encrypted,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid \
         WHERE s.ssl AND a.datname = $1 AND a.pid <> pg_backend_pid()",
    )
    .bind(&name)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(encrypted > 0, "Ember's connections must use TLS with sslmode=require");
    drop(ember);

    // verify-full against a CA that did not sign the server's certificate: refused at start.
    let pki = tempfile::tempdir().unwrap();
    ca(pki.path(), "unrelated");
    let strict = format!("{url}?sslmode=verify-full&sslrootcert={}", path(pki.path(), "unrelated.pem"));
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_ember"))
            .args(["serve", "--port", "0", "--grpc-port", "0"])
            .env("EMBER_WORKING_DIR", db.dir.path())
            .env("EMBER_DATABASE_URL", &strict)
            .output(),
    )
    .await
    .expect("ember gives up on an untrusted database certificate")
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "ember must not start: {stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "the error names the certificate: {stderr}");
}
