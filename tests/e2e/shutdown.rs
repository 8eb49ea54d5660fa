//! SIGTERM during sustained load: every span that got a 200 is in the database afterwards; and
//! SIGTERM the moment the server announces its ports is a clean stop, not the signal's default.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ember_workload::TraceGenerator;
use prost::Message;

use crate::harness::{Backend, Ember, TestDb};
use crate::on_both_backends;

async fn sigterm_under_load_loses_no_acknowledged_span(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let ember = Arc::new(Ember::start(&db).await);
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut senders = Vec::new();
    for _ in 0..4 {
        let (ember, acknowledged) = (ember.clone(), acknowledged.clone());
        senders.push(tokio::spawn(async move {
            let mut generator = TraceGenerator::new();
            let mut refused = 0;
            // Bounded: at most 2,000 requests or until the server stops answering.
            for _ in 0..2_000 {
                let request = generator.request(50, "shutdown");
                let response = ember
                    .client
                    .post(ember.url("/v1/traces"))
                    .header("content-type", "application/x-protobuf")
                    .body(request.encode_to_vec())
                    .send()
                    .await;
                match response.map(|r| r.status().as_u16()) {
                    Ok(200) => acknowledged.lock().expect("lock").extend(ember_workload::span_ids(&request)),
                    Ok(503) => {
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Ok(other) => panic!("unexpected status {other}"),
                    Err(_) => break,
                }
            }
            refused
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = acknowledged.lock().expect("lock").len();
    assert!(before > 1_000, "load was running: {before} spans acknowledged");
    ember.terminate();
    for sender in senders {
        sender.await.expect("sender");
    }
    let ember = Arc::try_unwrap(ember).unwrap_or_else(|_| panic!("senders finished"));
    assert!(ember.wait(Duration::from_secs(60)).await, "clean exit after SIGTERM");

    let acknowledged = acknowledged.lock().expect("lock").clone();
    let stored = db.stored_span_ids().await;
    let missing: Vec<_> = acknowledged.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged spans lost, e.g. {:?}",
        missing.len(),
        acknowledged.len(),
        missing.first()
    );
    db.cleanup().await;
}

/// A service manager may stop a server it has only just started. The handler was once installed
/// only when the serve loop first polled it, so a SIGTERM in the gap killed the process by the
/// signal's default action (no drain, exit by signal); the crash test hit it now and then.
async fn sigterm_at_once_after_listening_is_a_clean_exit(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    for _ in 0..5 {
        let ember = Ember::start(&db).await;
        ember.terminate();
        assert!(ember.wait(Duration::from_secs(30)).await, "exit 0 after a SIGTERM at the listening line");
    }
    db.cleanup().await;
}

on_both_backends!(sigterm_under_load_loses_no_acknowledged_span, sigterm_at_once_after_listening_is_a_clean_exit);
