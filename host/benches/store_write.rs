//! Throughput of the store's batch write alone: generated OpenInference spans, already decoded and
//! mapped, written in batches the size the writer uses. Separates database cost from ingest cost.
//!
//! `cargo bench --bench store_write -- [spans] [batch] [database-url]`

use std::time::Instant;

use bytes::Bytes;
use ember::ingest::otlp::decode_protobuf;
use ember::store::Store;
use ember_workload::TraceGenerator;
use prost::Message;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let total: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(400_000);
    let batch: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(4_000);
    let url = args.get(2).cloned();
    let dir = tempfile::tempdir()?;
    let store = Store::connect(url.as_deref(), dir.path()).await?;

    let mut generator = TraceGenerator::new();

    // Ingest CPU per span, without the database: protobuf decode plus OpenInference mapping.
    let bodies: Vec<Bytes> = (0..20).map(|_| Bytes::from(generator.request(128, "bench").encode_to_vec())).collect();
    let begin = Instant::now();
    let mut decoded_spans = 0;
    for body in &bodies {
        decoded_spans += decode_protobuf(body.clone(), None)?.spans.len();
    }
    let decode_time = begin.elapsed();
    println!(
        "decode+map: {:.1} µs/span ({:.0} spans/s on one core)",
        decode_time.as_secs_f64() * 1e6 / decoded_spans as f64,
        decoded_spans as f64 / decode_time.as_secs_f64()
    );

    let mut written = 0;
    let mut write_time = std::time::Duration::ZERO;
    let started = Instant::now();
    while written < total {
        let request = generator.request(batch / 4, "bench");
        let decoded = decode_protobuf(Bytes::from(request.encode_to_vec()), None)?;
        let begin = Instant::now();
        let outcome = store.write_batch(&decoded.spans).await?;
        write_time += begin.elapsed();
        written += outcome.inserted as usize;
    }
    let elapsed = started.elapsed();
    println!(
        "store_write: {written} spans in batches of {batch}: {:.0} spans/s in write_batch ({:.1} µs/span), {:.0} spans/s with generation",
        written as f64 / write_time.as_secs_f64(),
        write_time.as_secs_f64() * 1e6 / written as f64,
        written as f64 / elapsed.as_secs_f64(),
    );
    store.close().await;
    Ok(())
}
