//! Starting a throwaway `ember serve` for the load tools: the binary beside the running one, on
//! ephemeral ports, with its own working directory that is removed on every exit path.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A started server; dropping it kills the server and removes its working directory.
pub struct Spawned {
    pub child: tokio::process::Child,
    pub url: String,
    dir: PathBuf,
}

impl Drop for Spawned {
    /// Removes the started server's database, which a long run grows to gigabytes.
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts `ember serve` (the binary at `exe`, to compare another build, else the one beside this
/// tool) with `database_url` (SQLite in a temporary directory when `None`) and extra `KEY=VALUE`
/// environment; returns once it has announced its ports.
pub async fn spawn_server(
    tool: &str,
    exe: Option<&std::path::Path>,
    database_url: Option<&str>,
    server_env: &[String],
) -> anyhow::Result<Spawned> {
    let exe = match exe {
        Some(exe) => exe.to_owned(),
        None => std::env::current_exe()?.with_file_name("ember"),
    };
    let dir = std::env::temp_dir().join(format!("{tool}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut command = tokio::process::Command::new(&exe);
    command
        .args(["serve", "--port", "0", "--grpc-port", "0"])
        .env("EMBER_WORKING_DIR", &dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    if let Some(url) = database_url {
        command.env("EMBER_DATABASE_URL", url);
    }
    for pair in server_env {
        let (key, value) = pair.split_once('=').context("--server-env takes KEY=VALUE")?;
        command.env(key, value);
    }
    let mut child = command.spawn().with_context(|| format!("cannot start {}", exe.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line()).await??.context("server exited")?;
    let http = line.split_whitespace().find_map(|w| w.strip_prefix("http=")).context("no http address")?;
    Ok(Spawned { child, url: format!("http://{http}"), dir })
}

/// The process's current and peak resident memory, in KiB.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field =
        |name: &str| status.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse::<u64>().ok();
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
