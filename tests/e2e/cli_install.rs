//! `ember plugin install`: from a file and from a URL pinned by sha256, into a running server.

use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Backend, Ember, TestDb};
use crate::registry::component;

async fn ember(args: Vec<String>) -> (bool, Value, String) {
    tokio::task::spawn_blocking(move || {
        let home = tempfile::tempdir().expect("home");
        let output = Command::new(env!("CARGO_BIN_EXE_ember"))
            .args(&args)
            .env("HOME", home.path())
            .env("RUST_LOG", "error")
            .output()
            .expect("run ember");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let value = serde_json::from_str(&stdout).unwrap_or(Value::String(stdout.into_owned()));
        (output.status.success(), value, String::from_utf8_lossy(&output.stderr).into_owned())
    })
    .await
    .unwrap()
}

/// Serves `body` to every request on a loopback port (a minimal plugin download server).
async fn serve_bytes(body: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/plugins/kw.wasm", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/wasm\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn install_from_a_file_and_a_pinned_url() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let server = Ember::start_with_plugins(&db, &[]).await;
    let wasm = component("tests/plugins/dist/polite_echo.wasm");
    let sha = hex::encode(Sha256::digest(&wasm));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/plugins/dist/polite_echo.wasm");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["plugin", "install"].iter().map(|s| (*s).to_owned()).collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args.extend(["--server".to_owned(), server.url("")]);
        args
    };

    // From a file, with a name and version; the checksum is checked when given.
    let (ok, installed, stderr) =
        ember(args(&[path.to_str().unwrap(), "--name", "echo", "--version", "1.0.0", "--sha256", &sha])).await;
    assert!(ok, "{installed} {stderr}");
    assert_eq!(installed["name"], "echo");
    assert_eq!(installed["sha256"], sha.as_str());
    assert_eq!(installed["created"], true);
    let (ok, _, stderr) =
        ember(args(&[path.to_str().unwrap(), "--name", "echo", "--version", "1.0.1", "--sha256", &"0".repeat(64)]))
            .await;
    assert!(!ok);
    assert!(stderr.contains("sha256 mismatch"), "{stderr}");

    // From a URL: refused without a pin, refused over plain http unless allowed, refused when
    // the bytes do not match the pin; installed when they do.
    let url = serve_bytes(wasm.clone()).await;
    let (ok, _, stderr) = ember(args(&[&url, "--name", "echo", "--version", "2.0.0"])).await;
    assert!(!ok);
    assert!(stderr.contains("--sha256"), "{stderr}");
    let (ok, _, stderr) = ember(args(&[&url, "--name", "echo", "--version", "2.0.0", "--sha256", &sha])).await;
    assert!(!ok);
    assert!(stderr.contains("plain http"), "{stderr}");
    let (ok, _, stderr) =
        ember(args(&[&url, "--name", "echo", "--version", "2.0.0", "--sha256", &"a".repeat(64), "--allow-http"])).await;
    assert!(!ok);
    assert!(stderr.contains("sha256 mismatch"), "{stderr}");
    let (ok, installed, stderr) =
        ember(args(&[&url, "--name", "echo", "--version", "2.0.0", "--sha256", &sha, "--allow-http"])).await;
    assert!(ok, "{installed} {stderr}");
    assert_eq!(installed["version"], "2.0.0");

    // Only the two good installs reached the registry; a grant not in the manifest is refused.
    let (_, list) = server.get_json("/v1/plugins").await;
    let versions: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "echo")
        .map(|p| p["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.0.0", "2.0.0"]);
    let (ok, _, stderr) = ember(args(&[
        path.to_str().unwrap(),
        "--name",
        "echo",
        "--version",
        "3.0.0",
        "--grant-host",
        "evil.example.com",
    ]))
    .await;
    assert!(!ok);
    assert!(stderr.contains("422") && stderr.contains("evil.example.com"), "{stderr}");
    db.cleanup().await;
}
