//! Senders for fault tests: each records every span id that got a 200 and every refusal, so that
//! a test can count what was acknowledged against what was stored.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ember_workload::TraceGenerator;
use prost::Message;

use crate::harness::Ember;

/// Where exports go: an OTLP/HTTP endpoint and a client for it.
#[derive(Clone)]
pub struct Target {
    client: reqwest::Client,
    url: String,
}

impl Target {
    pub fn of(ember: &Ember) -> Self {
        Self { client: ember.client.clone(), url: ember.url("/v1/traces") }
    }
}

/// What a sender saw: span ids that got a 200, and the refusals with their messages.
#[derive(Default)]
pub struct Tally {
    pub acked: HashSet<String>,
    pub refused: usize,
    refusals: Vec<String>,
}

impl Tally {
    /// Sends one export of 50 traces (200 spans, about 1.4 KB each) and returns its status.
    /// Only 200 and 503 (with `Retry-After`) are acceptable answers.
    pub async fn send(&mut self, target: &Target, generator: &mut TraceGenerator) -> u16 {
        let request = generator.request(50, "faults");
        let ids = ember_workload::span_ids(&request);
        let response = target
            .client
            .post(&target.url)
            .header("content-type", "application/x-protobuf")
            .body(request.encode_to_vec())
            .send()
            .await
            .expect("POST /v1/traces");
        let status = response.status().as_u16();
        let has_retry_after = response.headers().contains_key("retry-after");
        let body = response.bytes().await.unwrap_or_default();
        match status {
            200 => self.acked.extend(ids),
            503 => {
                assert!(has_retry_after, "a 503 tells the exporter when to retry");
                self.refused += 1;
                self.refusals.push(String::from_utf8_lossy(&body).into_owned());
            }
            other => panic!("unexpected status {other}: {}", String::from_utf8_lossy(&body)),
        }
        status
    }

    /// Sends for `duration`, pausing a little after each refusal as an exporter would.
    pub async fn send_for(&mut self, target: &Target, generator: &mut TraceGenerator, duration: Duration) {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            if self.send(target, generator).await != 200 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Refusals whose message contains `needle`.
    pub fn refused_with(&self, needle: &str) -> usize {
        self.refusals.iter().filter(|message| message.contains(needle)).count()
    }

    /// Acknowledged span ids missing from `stored`.
    pub fn lost(&self, stored: &HashSet<String>) -> usize {
        self.acked.iter().filter(|id| !stored.contains(*id)).count()
    }
}

/// A sender running in the background until [`Background::finish`].
pub struct Background {
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Background {
    pub fn start(ember: &Ember) -> Self {
        let (tally, stop) = (Arc::new(Mutex::new(Tally::default())), Arc::new(AtomicBool::new(false)));
        let target = Target::of(ember);
        let task = {
            let (tally, stop) = (tally.clone(), stop.clone());
            tokio::spawn(async move {
                let mut generator = TraceGenerator::new();
                while !stop.load(Ordering::Relaxed) {
                    // Sent on a tally of its own, merged after each export, so that the lock is
                    // never held across an await.
                    let mut one = Tally::default();
                    let status = one.send(&target, &mut generator).await;
                    {
                        let mut shared = tally.lock().expect("tally lock");
                        shared.acked.extend(one.acked);
                        shared.refused += one.refused;
                        shared.refusals.extend(one.refusals);
                    }
                    if status != 200 {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            })
        };
        Self { tally, stop, task }
    }

    /// The ids of the spans acknowledged so far.
    pub fn acked_ids(&self) -> HashSet<String> {
        self.tally.lock().expect("tally lock").acked.clone()
    }

    /// Spans acknowledged so far.
    pub fn acked(&self) -> usize {
        self.tally.lock().expect("tally lock").acked.len()
    }

    /// Refusals so far whose message contains `needle`.
    pub fn refused_with(&self, needle: &str) -> usize {
        self.tally.lock().expect("tally lock").refused_with(needle)
    }

    /// The distinct refusal messages so far with their counts, for failure messages.
    pub fn refusals(&self) -> String {
        let tally = self.tally.lock().expect("tally lock");
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for message in &tally.refusals {
            *counts.entry(message.as_str()).or_default() += 1;
        }
        format!("{counts:?}")
    }

    /// Stops sending, stops the server with SIGTERM, and checks that every span acknowledged was
    /// stored; prints the count under `label`. Returns what the sender saw.
    pub async fn settle(self, label: &str, ember: Ember, db: &crate::harness::TestDb) -> Tally {
        let tally = self.finish().await;
        ember.terminate();
        assert!(ember.wait(Duration::from_secs(60)).await, "a clean exit after SIGTERM");
        let stored = db.stored_span_ids().await;
        let lost = tally.lost(&stored);
        eprintln!(
            "{label}: {} acknowledged, {} exports refused, {} stored, {lost} lost",
            tally.acked.len(),
            tally.refused,
            stored.len()
        );
        assert!(!tally.acked.is_empty(), "{label}: nothing was acknowledged");
        assert_eq!(lost, 0, "{label}: acknowledged spans were lost");
        tally
    }

    /// Stops sending and returns what was seen.
    pub async fn finish(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("sender task");
        Arc::try_unwrap(self.tally).ok().expect("the only owner").into_inner().expect("tally lock")
    }
}

/// Waits until `condition` holds, polling every 100 ms; panics with `what` and the refusals seen
/// so far after `limit`.
pub async fn wait_until(what: &str, limit: Duration, sender: &Background, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "timed out waiting until {what}; refusals: {}", sender.refusals());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `/readyz` within a second: its status and body.
pub async fn readyz(ember: &Ember) -> (u16, String) {
    let asked = Instant::now();
    let response = ember.client.get(ember.url("/readyz")).timeout(Duration::from_secs(1)).send().await;
    let response = response.unwrap_or_else(|err| panic!("/readyz did not answer within 1 s: {err}"));
    assert!(asked.elapsed() < Duration::from_secs(1));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// Waits until `/readyz` answers `status` with a body containing `needle` (panics after `limit`).
pub async fn wait_ready_state(ember: &Ember, status: u16, needle: &str, limit: Duration) -> String {
    let started = Instant::now();
    loop {
        let (got, body) = readyz(ember).await;
        if got == status && body.contains(needle) {
            return body;
        }
        assert!(started.elapsed() < limit, "/readyz never answered {status} {needle:?}; last: {got} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
