//! `kill -9` under load: three senders record every span id that got a 200, the server is killed
//! with SIGKILL at a random moment, restarted on the same database, and killed again, five times;
//! every acknowledged span must be stored. Run on SQLite and PostgreSQL.
//!
//! Before acknowledgement waited for the commit, each kill here lost thousands of acknowledged
//! spans (those still in the in-memory queue).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ember_workload::TraceGenerator;
use prost::Message;

use crate::harness::{Backend, Ember, TestDb};

const SENDERS: usize = 3;
const KILLS: usize = 5;

/// What the senders saw across every run of the server.
#[derive(Default)]
struct Seen {
    acked: Mutex<HashSet<String>>,
    /// Exports that got no answer: the connection died with the server.
    unanswered: AtomicUsize,
    refused: AtomicUsize,
}

/// Sends 200-span exports to `url` until `stop`, recording acknowledged span ids in `seen`.
async fn send_until(url: String, seen: Arc<Seen>, stop: Arc<AtomicBool>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client");
    let mut generator = TraceGenerator::new();
    while !stop.load(Ordering::Relaxed) {
        let request = generator.request(50, "crash");
        let ids = ember_workload::span_ids(&request);
        let sent = client
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .body(request.encode_to_vec())
            .send()
            .await;
        match sent.map(|response| response.status().as_u16()) {
            Ok(200) => seen.acked.lock().expect("lock").extend(ids),
            Ok(503) => {
                seen.refused.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(other) => panic!("unexpected status {other}"),
            Err(_) => {
                seen.unanswered.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn killed_at_random_moments_loses_nothing(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let seen = Arc::new(Seen::default());
    for kill in 1..=KILLS {
        let ember = Ember::start(&db).await;
        let stop = Arc::new(AtomicBool::new(false));
        let senders: Vec<_> = (0..SENDERS)
            .map(|_| tokio::spawn(send_until(ember.url("/v1/traces"), seen.clone(), stop.clone())))
            .collect();
        let before = seen.acked.lock().expect("lock").len();
        // Streaming first (a loaded CI machine can take seconds to commit the first batch), then
        // a random moment 1–3 s later, so that every sender is mid-stream.
        let streaming = std::time::Instant::now();
        while seen.acked.lock().expect("lock").len() == before {
            assert!(streaming.elapsed() < Duration::from_secs(60), "run {kill} acknowledged nothing in 60 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let after = Duration::from_millis(1_000 + rand::random::<u64>() % 2_000);
        tokio::time::sleep(after).await;
        ember.kill_9().await;
        stop.store(true, Ordering::Relaxed);
        for sender in senders {
            sender.await.expect("sender");
        }
        let acked = seen.acked.lock().expect("lock").len();
        eprintln!(
            "{backend:?} kill {kill} after {} ms: {} spans acknowledged in this run",
            after.as_millis(),
            acked - before
        );
        assert!(acked > before, "run {kill} acknowledged nothing");
    }

    // A last start finds the database as the kills left it (SQLite recovers its WAL here).
    let ember = Ember::start(&db).await;
    let (status, _) = ember.get_json("/readyz").await;
    assert_eq!(status, 200);
    ember.terminate();
    assert!(ember.wait(Duration::from_secs(60)).await, "a clean exit after SIGTERM");

    let stored = db.stored_span_ids().await;
    let acked = seen.acked.lock().expect("lock").clone();
    let lost = acked.iter().filter(|id| !stored.contains(*id)).count();
    eprintln!(
        "{backend:?}, {KILLS} × kill -9: {} acknowledged, {} unanswered exports, {} refused, {} stored, {lost} lost",
        acked.len(),
        seen.unanswered.load(Ordering::Relaxed),
        seen.refused.load(Ordering::Relaxed),
        stored.len()
    );
    assert!(seen.unanswered.load(Ordering::Relaxed) > 0, "no export was in flight at a kill: the test proves nothing");
    assert_eq!(lost, 0, "acknowledged spans were lost to kill -9");
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_span_sqlite() {
    killed_at_random_moments_loses_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_span_postgres() {
    killed_at_random_moments_loses_nothing(Backend::Postgres).await;
}
