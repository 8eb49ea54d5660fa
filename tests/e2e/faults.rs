//! Faults injected under load, counting what was acknowledged against what was stored.
//!
//! A full disk: SQLite's data directory on a 40 MiB filesystem under a sender of 200-span
//! exports that records every acknowledged span id. The disk fills; exports must then be refused
//! with a retryable answer that says so and `/readyz` must say why; the filesystem grows back and
//! more load follows; then SIGTERM. Every acknowledged span must be stored, whether the server's
//! log goes elsewhere or fills the same disk.

use std::time::{Duration, Instant};

use ember_workload::TraceGenerator;

use crate::harness::{Backend, Ember, TestDb};
use crate::small_fs::SmallFs;
use crate::tally::{readyz, Tally, Target};

async fn a_full_disk_never_swallows_acknowledged_spans(log_on_the_full_disk: bool) {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let Some(fs) = SmallFs::mount(db.dir.path(), 40) else { return };
    let ember =
        if log_on_the_full_disk { Ember::start_capturing_logs(&db, &[]).await.0 } else { Ember::start(&db).await };
    let (target, mut generator, mut tally) = (Target::of(&ember), TraceGenerator::new(), Tally::default());

    // Fill the disk: send until exports are refused because it is full.
    let started = Instant::now();
    while tally.refused_with("disk is full") == 0 {
        if tally.send(&target, &mut generator).await != 200 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "the disk never filled: {} acked", tally.acked.len());
    }
    let acked_when_full = tally.acked.len();
    let (status, reason) = readyz(&ember).await;
    assert_eq!(status, 503, "{reason}");
    assert!(reason.contains("disk full"), "{reason}");

    // Hold it full for 8 s under load: nothing more is acknowledged, or what is, is kept.
    tally.send_for(&target, &mut generator, Duration::from_secs(8)).await;
    let (status, reason) = readyz(&ember).await;
    assert_eq!(status, 503, "{reason}");

    // Grow the filesystem: the writer recovers by itself and ingest resumes.
    fs.resize(2048);
    let refused_before = tally.refused;
    let resumed = Instant::now();
    loop {
        if tally.send(&target, &mut generator).await == 200 && readyz(&ember).await.0 == 200 {
            break;
        }
        assert!(resumed.elapsed() < Duration::from_secs(30), "ingest did not resume after the disk grew");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tally.send_for(&target, &mut generator, Duration::from_secs(3)).await;

    ember.terminate();
    assert!(ember.wait(Duration::from_secs(60)).await, "a clean exit after SIGTERM");
    let stored = db.stored_span_ids().await;
    let lost = tally.lost(&stored);
    eprintln!(
        "full disk (log {}): {} acknowledged ({} before it filled), {} exports refused ({} while full), {} stored, {} lost",
        if log_on_the_full_disk { "on the same disk" } else { "elsewhere" },
        tally.acked.len(),
        acked_when_full,
        tally.refused,
        refused_before,
        stored.len(),
        lost
    );
    assert_eq!(lost, 0, "acknowledged spans were lost");
    drop(fs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_with_the_log_elsewhere() {
    a_full_disk_never_swallows_acknowledged_spans(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_that_also_holds_the_log() {
    a_full_disk_never_swallows_acknowledged_spans(true).await;
}

/// Polls `/metrics` until `line` shows up (or fails after 30 s).
async fn wait_for_metric(ember: &Ember, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = ember.client.get(ember.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if metrics.lines().any(|l| l == line) {
            return;
        }
        assert!(Instant::now() < deadline, "metric {line:?} never showed up:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How the writer is made to panic (test hooks), and the metric line that counts the panics.
#[derive(Debug, Clone, Copy)]
enum WriterPanic {
    /// Its first three batch writes panic: each panic is contained and the batch retried.
    InWrite,
    /// The whole writer task panics three times, each 500 ms after it started (mostly in the
    /// middle of a write): the supervisor restarts it, and the batches it held are written first.
    WholeTask,
}

/// The span writer panics, as `how` says, under load: readiness comes back, liveness never
/// fails, and every acknowledged span is stored.
async fn a_panicking_writer_loses_nothing(backend: Backend, how: WriterPanic) {
    let Some(db) = TestDb::new(backend).await else { return };
    let (env, metric) = match how {
        WriterPanic::InWrite => (("EMBER_FAULT_WRITER_PANICS", "3"), "ember_writer_panics_total 3"),
        WriterPanic::WholeTask => {
            (("EMBER_FAULT_TASK_PANICS", "span-writer=3@500"), "ember_task_panics_total{task=\"span-writer\"} 3")
        }
    };
    let ember = Ember::start_with(&db, &[env]).await;
    let (target, mut generator, mut tally) = (Target::of(&ember), TraceGenerator::new(), Tally::default());
    tally.send_for(&target, &mut generator, Duration::from_secs(3)).await;
    wait_for_metric(&ember, metric).await;
    let healed = Instant::now();
    while readyz(&ember).await.0 != 200 {
        assert!(healed.elapsed() < Duration::from_secs(30), "readiness never came back after the panics");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = ember.get_json("/healthz").await;
    assert_eq!(status, 200);
    tally.send_for(&target, &mut generator, Duration::from_secs(1)).await;

    ember.terminate();
    assert!(ember.wait(Duration::from_secs(60)).await, "a clean exit after SIGTERM");
    let stored = db.stored_span_ids().await;
    let lost = tally.lost(&stored);
    eprintln!(
        "panicking writer ({backend:?}, {how:?}): {} acknowledged, {} stored, {lost} lost",
        tally.acked.len(),
        stored.len()
    );
    assert!(!tally.acked.is_empty());
    assert_eq!(lost, 0, "acknowledged spans were lost");
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_writer_loses_nothing_sqlite() {
    a_panicking_writer_loses_nothing(Backend::Sqlite, WriterPanic::InWrite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_writer_loses_nothing_postgres() {
    a_panicking_writer_loses_nothing(Backend::Postgres, WriterPanic::InWrite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_writer_task_loses_nothing_sqlite() {
    a_panicking_writer_loses_nothing(Backend::Sqlite, WriterPanic::WholeTask).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_writer_task_loses_nothing_postgres() {
    a_panicking_writer_loses_nothing(Backend::Postgres, WriterPanic::WholeTask).await;
}

/// A writer that keeps panicking (five times within a minute) is given up on: the server exits
/// non-zero for its service manager to restart it, rather than acknowledge spans it cannot write.
#[tokio::test]
async fn a_writer_that_keeps_panicking_makes_the_server_exit_non_zero() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let ember = Ember::start_with(&db, &[("EMBER_FAULT_TASK_PANICS", "span-writer=5@200")]).await;
    assert!(!ember.wait(Duration::from_secs(30)).await, "the server must exit with a failure");
}

/// Started with a soft open-files limit of 1,024 under a hard limit of 8,192 (a common service
/// manager default), the server raises its soft limit to the hard one, so that a thousand idle
/// clients cannot use up its descriptors.
#[tokio::test]
async fn the_open_files_limit_is_raised_to_the_hard_limit() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let ember = Ember::start_with_open_files(&db, "1024:8192", &[]).await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", ember.pid())).expect("read limits");
    let open_files = limits.lines().find(|line| line.starts_with("Max open files")).expect("open files line");
    let numbers: Vec<&str> = open_files.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers, ["8192", "8192"], "{open_files}");
}

/// Whether libfiu's tools are here; outside CI their absence skips the test loudly.
fn have_fiu() -> bool {
    let found = std::process::Command::new("fiu-run").arg("-h").output().is_ok();
    assert!(found || std::env::var_os("CI").is_none(), "CI requires fiu-run (Debian's fiu-utils)");
    if !found {
        eprintln!("\n!!! SKIPPING the I/O-error test: fiu-run is missing (apt install fiu-utils); CI never skips\n");
    }
    found
}

/// Runs `fiu-ctrl -c COMMAND` against the server.
fn fiu_ctrl(ember: &Ember, command: &str) {
    let status = std::process::Command::new("fiu-ctrl")
        .args(["-c", command, &ember.pid().to_string()])
        .status()
        .expect("run fiu-ctrl");
    assert!(status.success(), "fiu-ctrl -c {command}");
}

/// The storage device fails: the server runs under libfiu (`fiu-run -x`), and for a while every
/// `pwrite` and every sync returns EIO, as a failing disk would. Exports are refused meanwhile with
/// a message that says so, `/readyz` says why, writes resume by themselves once the device
/// recovers, and every acknowledged span is stored. A failed write or sync is never taken as
/// durable: the connection is closed and the batch written again from memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_errors_lose_nothing() {
    if !have_fiu() {
        return;
    }
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let ember = Ember::start_wrapped(&db, &["fiu-run", "-x"], &[]).await;
    let sender = crate::tally::Background::start(&ember);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sender.acked() > 0, "spans are acknowledged before the fault");

    for name in ["posix/io/rw/pwrite", "posix/io/sync/*"] {
        fiu_ctrl(&ember, &format!("enable name={name},failinfo=5"));
    }
    let reason = crate::tally::wait_ready_state(&ember, 503, "I/O errors", Duration::from_secs(30)).await;
    let refused = || sender.refused_with("I/O errors") > 0;
    crate::tally::wait_until("exports are refused", Duration::from_secs(30), &sender, refused).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    for name in ["posix/io/rw/pwrite", "posix/io/sync/*"] {
        fiu_ctrl(&ember, &format!("disable name={name}"));
    }
    let acked_before = sender.acked();
    crate::tally::wait_until("ingest resumes", Duration::from_secs(30), &sender, || sender.acked() > acked_before)
        .await;
    crate::tally::wait_ready_state(&ember, 200, "", Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    sender.settle(&format!("I/O errors (/readyz said {reason:?})"), ember, &db).await;
}

/// The gRPC server task panics (a test hook): a server without one of its listeners is half
/// alive, so it shuts down and exits non-zero for its service manager to restart it.
#[tokio::test]
async fn a_dead_listener_task_makes_the_server_exit_non_zero() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let ember = Ember::start_with(&db, &[("EMBER_FAULT_TASK_PANICS", "grpc-server=1")]).await;
    assert!(!ember.wait(Duration::from_secs(30)).await, "the server must exit with a failure");
}
