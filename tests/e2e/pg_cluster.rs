//! A PostgreSQL cluster of a test's own (`initdb` into a temporary directory, optionally on a
//! small filesystem), so that a test can stop, kill and restart the database under load, or fill
//! its disk, without touching the shared server the rest of the suite uses. Needs root (to run
//! PostgreSQL as `postgres` and to mount); elsewhere the test is skipped loudly, in CI it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::small_fs::SmallFs;

/// A running PostgreSQL cluster; stopped and removed on drop.
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    pub port: u16,
    fs: Option<SmallFs>,
    _dir: tempfile::TempDir,
}

impl PgCluster {
    /// Creates and starts a cluster, its data directory on a tmpfs of `fs_mib` MiB if given.
    /// `None` where this cannot be done, outside CI.
    pub fn start(fs_mib: Option<u64>) -> Option<Self> {
        let bin = match postgres_bin() {
            Some(bin) if is_root() => bin,
            other => {
                let why = if other.is_none() { "no PostgreSQL server binaries" } else { "not root" };
                assert!(std::env::var_os("CI").is_none(), "CI requires a private PostgreSQL cluster: {why}");
                eprintln!("\n!!! SKIPPING this PostgreSQL fault test: {why}; CI never skips\n");
                return None;
            }
        };
        let dir = tempfile::tempdir().expect("temporary directory");
        chmod(dir.path(), "755");
        let home = dir.path().join("pg");
        std::fs::create_dir(&home).expect("create cluster home");
        let fs = match fs_mib {
            Some(mib) => Some(SmallFs::mount(&home, mib)?),
            None => None,
        };
        run(Command::new("chown").arg("postgres:postgres").arg(&home));
        let data = home.join("data");
        let log = dir.path().join("postgres.log");
        run(Command::new("touch").arg(&log));
        run(Command::new("chown").arg("postgres:postgres").arg(&log));
        // One-megabyte WAL segments keep a small filesystem's space for the test's own data.
        run(as_postgres(&bin.join("initdb"))
            .args(["--auth=trust", "--username=postgres", "--wal-segsize=1", "--no-sync", "-D"])
            .arg(&data));
        let port = free_port();
        let cluster = Self { bin, data, log, port, fs, _dir: dir };
        cluster.start_again();
        Some(cluster)
    }

    /// The administrative URL of the cluster's `postgres` database.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the (stopped) cluster, waiting until it accepts connections. After a kill, old
    /// backends may still hold the shared memory for a moment: retried for up to 30 s.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=40 -c shared_buffers=8MB",
            self.port
        );
        let started = Instant::now();
        loop {
            let status = as_postgres(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&self.data)
                .arg("-l")
                .arg(&self.log)
                .args(["-w", "-t", "30", "-o", &options, "start"])
                .status()
                .expect("run pg_ctl start");
            if status.success() {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "PostgreSQL did not start:\n{}", self.log_tail());
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Stops the cluster as an operator would (`pg_ctl stop -m fast`: connections are cut).
    pub fn stop(&self) {
        run(as_postgres(&self.bin.join("pg_ctl")).arg("-D").arg(&self.data).args(["-w", "-m", "fast", "stop"]));
    }

    /// Kills the postmaster and every backend with SIGKILL, as an OOM killer or a crash would.
    pub fn kill(&self) {
        let Some(postmaster) = self.postmaster_pid() else { return };
        let mut victims = children_of(postmaster);
        victims.push(postmaster);
        for pid in victims {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Path::new(&format!("/proc/{postmaster}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the postmaster is running (PostgreSQL stops itself when it cannot write its WAL).
    pub fn is_running(&self) -> bool {
        let status = as_postgres(&self.bin.join("pg_ctl")).arg("-D").arg(&self.data).arg("status").output();
        status.is_ok_and(|out| out.status.success())
    }

    /// The filesystem the data directory is on, if the cluster was given a small one.
    pub fn fs(&self) -> Option<&SmallFs> {
        self.fs.as_ref()
    }

    /// The end of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn postmaster_pid(&self) -> Option<u32> {
        let pid_file = std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        pid_file.lines().next()?.trim().parse().ok()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-m", "immediate", "stop"])
            .status();
    }
}

/// The newest installed PostgreSQL's server binaries (`/usr/lib/postgresql/N/bin`).
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

fn as_postgres(program: &Path) -> Command {
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--"]).arg(program).current_dir("/");
    command
}

fn run(command: &mut Command) {
    let output = command.output().expect("run command");
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn chmod(path: &Path, mode: &str) {
    run(Command::new("chmod").arg(mode).arg(path));
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Every process whose parent is `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The parent pid is the second field after the parenthesised command name.
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok())
                == Some(parent)
        })
        .collect()
}
