//! Slow and idle clients under a soft open-files limit of 1,024 (a common service-manager
//! default): 550 connections that send a request line, a `Host` header and then one more header
//! byte a second, and 550 that connect and send nothing. The server raises its soft limit to the
//! hard one and closes each slow or idle connection once the header timeout passes, and a
//! well-behaved client gets `/healthz` and an export through within a second throughout.

use std::time::{Duration, Instant};

use ember_workload::TraceGenerator;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Backend, Ember, TestDb};

const HEADER_TIMEOUT_SECS: u64 = 3;
const EACH: usize = 550;

/// Holds a connection the way a slow or idle client does; returns how long the server kept it.
async fn hold(addr: String, slow: bool) -> Duration {
    let opened = Instant::now();
    let Ok(mut stream) = TcpStream::connect(&addr).await else { return Duration::ZERO };
    let mut buf = [0u8; 256];
    if slow {
        if stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: ember\r\nX-Slow: ").await.is_err() {
            return opened.elapsed();
        }
        loop {
            tokio::select! {
                read = stream.read(&mut buf) => if matches!(read, Ok(0) | Err(_)) { return opened.elapsed() },
                () = tokio::time::sleep(Duration::from_secs(1)) => {
                    if stream.write_all(b"a").await.is_err() {
                        return opened.elapsed();
                    }
                }
            }
            if opened.elapsed() > Duration::from_secs(60) {
                return opened.elapsed();
            }
        }
    }
    let read = tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buf)).await;
    let _ = read;
    opened.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_and_idle_clients_are_closed_and_never_lock_others_out() {
    // This test process holds 1,100 sockets itself.
    rlimit::increase_nofile_limit(4096).expect("raise the test's own open-files limit");
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let timeout = HEADER_TIMEOUT_SECS.to_string();
    let ember =
        Ember::start_with_open_files(&db, "1024:16384", &[("EMBER_HEADER_TIMEOUT_SECONDS", timeout.as_str())]).await;
    let addr = ember.http.trim_start_matches("http://").to_owned();

    // Connections open in bursts of 100, as a flood from a few clients arrives.
    let mut holders = Vec::new();
    for i in 0..2 * EACH {
        holders.push(tokio::spawn(hold(addr.clone(), i % 2 == 0)));
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A well-behaved client, with a fresh connection each time, throughout.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut generator = TraceGenerator::new();
    let until = Instant::now() + Duration::from_secs(HEADER_TIMEOUT_SECS + 3);
    let mut probes = 0;
    while Instant::now() < until {
        let asked = Instant::now();
        let health = client.get(format!("http://{addr}/healthz")).timeout(Duration::from_secs(1)).send().await;
        assert_eq!(health.map(|r| r.status().as_u16()).ok(), Some(200), "/healthz within 1 s (probe {probes})");
        let body = generator.request(2, "slow-clients").encode_to_vec();
        let export = client
            .post(format!("http://{addr}/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(body)
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        assert_eq!(export.map(|r| r.status().as_u16()).ok(), Some(200), "an export within 1 s (probe {probes})");
        assert!(asked.elapsed() < Duration::from_secs(2));
        probes += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let (mut longest, mut longest_slow, mut longest_idle) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut stuck = 0;
    for (i, holder) in holders.into_iter().enumerate() {
        let held = holder.await.expect("holder task");
        stuck += usize::from(held > Duration::from_secs(10));
        longest = longest.max(held);
        if i % 2 == 0 {
            longest_slow = longest_slow.max(held);
        } else {
            longest_idle = longest_idle.max(held);
        }
    }
    eprintln!("longest slow {longest_slow:?}, longest idle {longest_idle:?}, held over 10 s: {stuck}");
    eprintln!(
        "{} slow and idle connections: {probes} well-behaved probes all within 1 s; the longest held {longest:?} (header timeout {HEADER_TIMEOUT_SECS} s)",
        2 * EACH
    );
    assert!(longest < Duration::from_secs(HEADER_TIMEOUT_SECS + 3), "a slow or idle connection was held {longest:?}");
}
