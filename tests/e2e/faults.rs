//! Faults injected under load, counting what was acknowledged against what was stored.
//!
//! A full disk: SQLite's data directory on a 40 MiB filesystem under a sender of 200-span
//! exports that records every acknowledged span id. The disk fills; exports must then be refused
//! with a retryable answer that says so and `/readyz` must say why; the filesystem grows back and
//! more load follows; then SIGTERM. Every acknowledged span must be stored, whether the server's
//! log goes elsewhere or fills the same disk.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ember::workload::TraceGenerator;
use prost::Message;

use crate::harness::{Backend, Ember, TestDb};
use crate::small_fs::SmallFs;
use crate::support::post_protobuf;

/// What a sender saw: span ids that got a 200, and the refusals by status.
#[derive(Default)]
struct Tally {
    acked: HashSet<String>,
    refused: usize,
    disk_full_messages: usize,
}

impl Tally {
    /// Sends one export of 50 traces (200 spans, about 1.4 KB each).
    async fn send(&mut self, ember: &Ember, generator: &mut TraceGenerator) -> u16 {
        let request = generator.request(50, "faults");
        let ids = ember::workload::span_ids(&request);
        let (status, headers, body) = post_protobuf(ember, request.encode_to_vec(), &[]).await;
        match status {
            200 => self.acked.extend(ids),
            503 => {
                self.refused += 1;
                assert!(headers.contains_key("retry-after"), "a 503 tells the exporter when to retry");
                if String::from_utf8_lossy(&body).contains("disk is full") {
                    self.disk_full_messages += 1;
                }
            }
            other => panic!("unexpected status {other}: {}", String::from_utf8_lossy(&body)),
        }
        status
    }

    /// Sends for `duration`, pausing a little after each refusal as an exporter would.
    async fn send_for(&mut self, ember: &Ember, generator: &mut TraceGenerator, duration: Duration) {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            if self.send(ember, generator).await != 200 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// `/readyz` within a second: its status and body.
async fn readyz(ember: &Ember) -> (u16, String) {
    let asked = Instant::now();
    let response = ember.client.get(ember.url("/readyz")).timeout(Duration::from_secs(1)).send().await;
    let response = response.unwrap_or_else(|err| panic!("/readyz did not answer within 1 s: {err}"));
    assert!(asked.elapsed() < Duration::from_secs(1));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

async fn a_full_disk_never_swallows_acknowledged_spans(log_on_the_full_disk: bool) {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let Some(fs) = SmallFs::mount(db.dir.path(), 40) else { return };
    let ember =
        if log_on_the_full_disk { Ember::start_capturing_logs(&db, &[]).await.0 } else { Ember::start(&db).await };
    let mut generator = TraceGenerator::new();
    let mut tally = Tally::default();

    // Fill the disk: send until exports are refused because it is full.
    let started = Instant::now();
    while tally.disk_full_messages == 0 {
        if tally.send(&ember, &mut generator).await != 200 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "the disk never filled: {} acked", tally.acked.len());
    }
    let acked_when_full = tally.acked.len();
    let (status, reason) = readyz(&ember).await;
    assert_eq!(status, 503, "{reason}");
    assert!(reason.contains("disk full"), "{reason}");

    // Hold it full for 8 s under load: nothing more is acknowledged, or what is, is kept.
    tally.send_for(&ember, &mut generator, Duration::from_secs(8)).await;
    let (status, reason) = readyz(&ember).await;
    assert_eq!(status, 503, "{reason}");

    // Grow the filesystem: the writer recovers by itself and ingest resumes.
    fs.resize(2048);
    let refused_before = tally.refused;
    let resumed = Instant::now();
    loop {
        if tally.send(&ember, &mut generator).await == 200 && readyz(&ember).await.0 == 200 {
            break;
        }
        assert!(resumed.elapsed() < Duration::from_secs(30), "ingest did not resume after the disk grew");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tally.send_for(&ember, &mut generator, Duration::from_secs(3)).await;

    ember.terminate();
    assert!(ember.wait(Duration::from_secs(60)).await, "a clean exit after SIGTERM");
    let stored = db.stored_span_ids().await;
    let lost: Vec<&String> = tally.acked.iter().filter(|id| !stored.contains(*id)).collect();
    eprintln!(
        "full disk (log {}): {} acknowledged ({} before it filled), {} exports refused ({} while full), {} stored, {} lost",
        if log_on_the_full_disk { "on the same disk" } else { "elsewhere" },
        tally.acked.len(),
        acked_when_full,
        tally.refused,
        refused_before,
        stored.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "{} acknowledged spans were lost, e.g. {:?}", lost.len(), lost.first());
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

/// The span writer panics on its first three batch writes (a test hook): each panic is contained,
/// its spans are retried, readiness says so meanwhile, and every acknowledged span is stored.
async fn a_panicking_writer_loses_nothing(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Ember::start_with(&db, &[("EMBER_FAULT_WRITER_PANICS", "3")]).await;
    let mut generator = TraceGenerator::new();
    let mut tally = Tally::default();
    tally.send_for(&ember, &mut generator, Duration::from_secs(3)).await;
    wait_for_metric(&ember, "ember_writer_panics_total 3").await;
    let healed = Instant::now();
    while readyz(&ember).await.0 != 200 {
        assert!(healed.elapsed() < Duration::from_secs(30), "readiness never came back after the panics");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = ember.get_json("/healthz").await;
    assert_eq!(status, 200);
    tally.send_for(&ember, &mut generator, Duration::from_secs(1)).await;

    ember.terminate();
    assert!(ember.wait(Duration::from_secs(60)).await, "a clean exit after SIGTERM");
    let stored = db.stored_span_ids().await;
    let lost = tally.acked.iter().filter(|id| !stored.contains(*id)).count();
    eprintln!(
        "panicking writer ({backend:?}): {} acknowledged, {} stored, {lost} lost",
        tally.acked.len(),
        stored.len()
    );
    assert!(!tally.acked.is_empty());
    assert_eq!(lost, 0, "acknowledged spans were lost");
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_writer_loses_nothing_sqlite() {
    a_panicking_writer_loses_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_writer_loses_nothing_postgres() {
    a_panicking_writer_loses_nothing(Backend::Postgres).await;
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
