//! A burst of big plugin uploads: twelve concurrent uploads of a 127 MiB component (within
//! `EMBER_MAX_PLUGIN_BYTES`) are received and compiled two at a time, so the server's memory stays
//! under a stated bound instead of growing with the burst (three at once took 830 MiB before).

use std::time::{Duration, Instant};

use crate::harness::{Backend, Ember, TestDb};
use crate::hostile::repo;

const COMPONENT_MIB: usize = 127;
const UPLOADS: usize = 12;

/// What two uploads in flight may hold at once: each its body, the copy the registry stores and
/// the database's copy while it writes it (4 × 127 MiB), plus 256 MiB for everything else.
const BOUND_MIB: u64 = 2 * 4 * COMPONENT_MIB as u64 + 256;

/// `polite_echo` with a custom section appended that brings it to `COMPONENT_MIB` MiB; `tag`
/// makes each copy's bytes (and sha256) distinct.
fn big_component(tag: u8) -> Vec<u8> {
    let mut wasm = std::fs::read(repo().join("tests/plugins/dist/polite_echo.wasm")).expect("polite_echo built");
    let name = b"ember-test-padding";
    let payload = (COMPONENT_MIB << 20) - wasm.len() - name.len() - 16;
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name);
    section.resize(section.len() + payload, tag);
    wasm.push(0); // custom section
    let mut size = section.len();
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        wasm.push(if size == 0 { byte } else { byte | 0x80 });
        if size == 0 {
            break;
        }
    }
    wasm.extend_from_slice(&section);
    wasm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_big_uploads_stays_under_a_memory_bound() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let ember = Ember::start(&db).await;
    let before = ember.proc_status_bytes("VmRSS") >> 20;
    ember.reset_peak_memory();
    let started = Instant::now();
    let uploads: Vec<_> = (0..UPLOADS)
        .map(|i| {
            let (client, url) = (ember.client.clone(), ember.url(&format!("/v1/plugins?name=big{i}&version=1.0.0")));
            let body = big_component(i as u8);
            // A 503 (no upload slot within the server's wait) is retried, as a client would.
            tokio::spawn(async move {
                loop {
                    let request = client.post(&url).header("content-type", "application/wasm").body(body.clone());
                    let status = request.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
                    if status != 503 || started.elapsed() > Duration::from_secs(300) {
                        return status;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            })
        })
        .collect();
    for (i, upload) in uploads.into_iter().enumerate() {
        assert_eq!(upload.await.expect("task"), 201, "upload {i}");
    }
    let peak = ember.proc_status_bytes("VmHWM") >> 20;
    eprintln!(
        "{UPLOADS} concurrent uploads of {COMPONENT_MIB} MiB in {:?}: resident {before} MiB before, peak {peak} MiB (+{} MiB), bound +{BOUND_MIB} MiB",
        started.elapsed(),
        peak - before
    );
    assert!(peak - before <= BOUND_MIB, "peak +{} MiB over the bound of +{BOUND_MIB} MiB", peak - before);
    let (status, _) = ember.get_json("/healthz").await;
    assert_eq!(status, 200);
    db.cleanup().await;
}
