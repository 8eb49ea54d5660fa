//! `ember plugin install`: registers a component from a file or an https URL (pinned by its
//! sha256) with a running server.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// `ember plugin install` arguments.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// A component file, or an `https://` URL (which needs `--sha256`).
    pub source: String,
    /// The component's expected sha256 (hex): required for URLs, checked for files when given.
    #[arg(long)]
    pub sha256: Option<String>,
    /// Plugin name [default: the manifest's, else the component's own].
    #[arg(long)]
    pub name: Option<String>,
    /// Plugin version [default: the manifest's, else the component's own].
    #[arg(long)]
    pub version: Option<String>,
    /// Manifest file (JSON): description, limits, hosts, secrets, llm.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Grant a host the manifest asks for (repeatable).
    #[arg(long = "grant-host")]
    pub grant_hosts: Vec<String>,
    /// Grant a secret the manifest asks for (repeatable).
    #[arg(long = "grant-secret")]
    pub grant_secrets: Vec<String>,
    /// Grant the `llm` import.
    #[arg(long)]
    pub grant_llm: bool,
    /// Allow a plain `http://` URL (for a registry on a trusted network; the sha256 still pins it).
    #[arg(long)]
    pub allow_http: bool,
    /// Base URL of the Ember server.
    #[arg(long, env = "EMBER_SERVER_URL", default_value = "http://127.0.0.1:6006")]
    pub server: String,
}

/// Largest component downloaded.
const MAX_DOWNLOAD: usize = 512 << 20;

/// Fetches, verifies and uploads the component; returns the registered plugin as JSON.
pub async fn install(args: &InstallArgs) -> Result<Value> {
    let is_url = args.source.starts_with("https://") || args.source.starts_with("http://");
    let wasm = if is_url {
        if args.sha256.is_none() {
            bail!("installing from a URL needs --sha256 to pin the component");
        }
        if args.source.starts_with("http://") && !args.allow_http {
            bail!("refusing plain http ({}); use https, or --allow-http on a trusted network", args.source);
        }
        let url = args.source.clone();
        tokio::task::spawn_blocking(move || download(&url)).await??
    } else {
        std::fs::read(&args.source).with_context(|| format!("reading {}", args.source))?
    };
    let digest = hex::encode(Sha256::digest(&wasm));
    if let Some(expected) = &args.sha256 {
        if !expected.eq_ignore_ascii_case(&digest) {
            bail!("sha256 mismatch for {}: expected {expected}, got {digest}; nothing installed", args.source);
        }
    }
    let mut manifest = match &args.manifest {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<Value>(&text).with_context(|| format!("{} is not JSON", path.display()))?
        }
        None => json!({}),
    };
    let Some(fields) = manifest.as_object_mut() else { bail!("the manifest must be a JSON object") };
    if let Some(name) = &args.name {
        fields.insert("name".into(), json!(name));
    }
    if let Some(version) = &args.version {
        fields.insert("version".into(), json!(version));
    }
    let grants = json!({ "hosts": args.grant_hosts, "secrets": args.grant_secrets, "llm": args.grant_llm });
    let file_name = args.source.rsplit('/').next().unwrap_or("component.wasm").to_owned();
    let form = Form::new()
        .part("component", Part::bytes(wasm).file_name(file_name))
        .text("manifest", manifest.to_string())
        .text("grants", grants.to_string());
    let url = format!("{}/v1/plugins", args.server.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .multipart(form)
        .send()
        .await
        .with_context(|| format!("cannot reach the server at {}", args.server))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let message = body["error"]["message"].as_str().map_or_else(|| body.to_string(), str::to_owned);
        bail!("the server refused the plugin (HTTP {}): {message}", status.as_u16());
    }
    let mut data = body["data"].clone();
    data["created"] = json!(status == reqwest::StatusCode::CREATED);
    Ok(data)
}

/// Downloads with ureq (rustls with ring and the webpki roots), limited to `MAX_DOWNLOAD`.
fn download(url: &str) -> Result<Vec<u8>> {
    let mut response = ureq::get(url).call().with_context(|| format!("downloading {url}"))?;
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_DOWNLOAD as u64)
        .read_to_vec()
        .with_context(|| format!("downloading {url} (at most {} MiB)", MAX_DOWNLOAD >> 20))?;
    Ok(bytes)
}
