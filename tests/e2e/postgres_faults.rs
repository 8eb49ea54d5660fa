//! PostgreSQL faults under load, on a cluster of the test's own: stopped by an operator, killed
//! with SIGKILL, and stopping itself when its disk fills. While the database is gone, exports are
//! refused with a retryable 503 that says why and `/readyz` answers within a second with the
//! reason; once it is back, ingest resumes by itself; every acknowledged span is stored.

use std::time::{Duration, Instant};

use crate::harness::{Ember, TestDb};
use crate::pg_cluster::PgCluster;
use crate::tally::{wait_ready_state, wait_until, Background};

/// Waits until ingest has resumed: more spans acknowledged than `before`, and `/readyz` 200.
async fn wait_resumed(ember: &Ember, sender: &Background) {
    let before = sender.acked();
    wait_until("ingest resumes", Duration::from_secs(60), sender, || sender.acked() > before).await;
    wait_ready_state(ember, 200, "", Duration::from_secs(30)).await;
}

/// `ember_queue_oldest_span_age_seconds` from `/metrics`.
async fn oldest_queued_age(ember: &Ember) -> f64 {
    let metrics = ember.client.get(ember.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let line = metrics.lines().find(|line| line.starts_with("ember_queue_oldest_span_age_seconds "));
    line.and_then(|line| line.rsplit(' ').next()).and_then(|value| value.parse().ok()).expect("the age metric")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_killed_under_load_loses_nothing() {
    let Some(cluster) = PgCluster::start(None) else { return };
    let Some(db) = TestDb::postgres_on(&cluster.admin_url()).await else { return };
    let ember = Ember::start(&db).await;
    let sender = Background::start(&ember);
    wait_until("spans are acknowledged", Duration::from_secs(30), &sender, || sender.acked() > 0).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    for (fault, inject) in [("stopped", PgCluster::stop as fn(&PgCluster)), ("killed", PgCluster::kill)] {
        let refused_before = sender.refused_with("database is unreachable");
        tokio::task::block_in_place(|| inject(&cluster));
        let down = Instant::now();
        let reason = wait_ready_state(&ember, 503, "database unreachable", Duration::from_secs(30)).await;
        wait_until("exports are refused", Duration::from_secs(30), &sender, || {
            sender.refused_with("database is unreachable") > refused_before
        })
        .await;
        // Held down a while under load: refused, never acknowledged into a dead end; the age of
        // the oldest span waiting for the database grows, for an alert to see.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let age = oldest_queued_age(&ember).await;
        assert!(age >= 2.0, "ember_queue_oldest_span_age_seconds is {age} while the database is down");
        eprintln!("postgres {fault}: /readyz said {reason:?}; down {:.1} s", down.elapsed().as_secs_f64());
        tokio::task::block_in_place(|| cluster.start_again());
        wait_resumed(&ember, &sender).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    let tally = sender.settle("postgres stopped and killed", ember, &db).await;
    assert!(tally.refused_with("database is unreachable") > 0);
}

/// PostgreSQL's data directory on a small filesystem: the disk fills under load, and PostgreSQL
/// refuses writes or stops itself (it does when it cannot write its WAL). Exports are refused
/// meanwhile; the test then grows the filesystem and restarts PostgreSQL if it stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_on_a_full_disk_loses_nothing() {
    let Some(cluster) = PgCluster::start(Some(96)) else { return };
    let Some(db) = TestDb::postgres_on(&cluster.admin_url()).await else { return };
    let ember = Ember::start(&db).await;
    let sender = Background::start(&ember);
    let refused = || sender.refused_with("disk is full") + sender.refused_with("database is unreachable");
    wait_until("the disk fills and exports are refused", Duration::from_secs(120), &sender, || refused() > 0).await;
    let acked_when_full = sender.acked();
    let (status, reason) = crate::tally::readyz(&ember).await;
    assert_eq!(status, 503, "{reason}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stopped_itself = !cluster.is_running();
    eprintln!("postgres disk full: /readyz {status} {reason:?}; postgres stopped itself: {stopped_itself}");

    cluster.fs().expect("a small filesystem").resize(1024);
    if !cluster.is_running() {
        tokio::task::block_in_place(|| cluster.start_again());
    }
    wait_resumed(&ember, &sender).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    eprintln!("postgres disk full: {acked_when_full} spans acknowledged before it filled");
    sender.settle("postgres disk full", ember, &db).await;
}
