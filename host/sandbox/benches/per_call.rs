//! Per-call cost of a plugin: a fresh instance from `InstancePre` plus one `evaluate`, for the
//! Rust `exact_match` evaluator and the Python and JavaScript examples; and the cost of loading a
//! component cold (compiling) against loading it from the on-disk cache.
//!
//! `cargo bench -p ember-sandbox --bench per_call` after `bash plugins/build.sh` and
//! `bash examples/build.sh`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ember_sandbox::{EvalInput, Limits, Sandbox, SandboxConfig};

fn component(dir: &str, name: &str) -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir).join("dist").join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}; run {dir}/build.sh first", path.display()))
}

struct Subject {
    label: &'static str,
    wasm: Vec<u8>,
    limits: Limits,
    input: EvalInput,
}

fn subjects() -> Vec<Subject> {
    vec![
        Subject {
            label: "rust_exact_match",
            wasm: component("plugins", "exact_match"),
            limits: Limits::default(),
            input: EvalInput::new(r#""What is the capital of France?""#, r#""Paris""#).expected(r#""Paris""#),
        },
        Subject {
            label: "python_token_f1",
            wasm: component("examples", "python_evaluator"),
            limits: Limits::interpreted(),
            input: EvalInput::new(r#""Who wrote Hamlet?""#, r#""It was Shakespeare""#)
                .expected(r#""William Shakespeare""#),
        },
        Subject {
            label: "js_keyword_coverage",
            wasm: component("examples", "js_evaluator"),
            limits: Limits::interpreted(),
            input: EvalInput::new(r#""Refunds?""#, r#""Refunds within 30 days.""#).expected(r#"["refund", "30 days"]"#),
        },
    ]
}

fn per_call(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("cache dir");
    let sandbox = Sandbox::new(SandboxConfig { cache_dir: Some(cache.path().into()), ..SandboxConfig::default() })
        .expect("sandbox");
    let mut group = c.benchmark_group("per_call");
    group.throughput(Throughput::Elements(1));
    for subject in subjects() {
        let plugin = sandbox.load(&subject.wasm, subject.limits.clone()).expect("load");
        assert!(plugin.evaluate(&subject.input).outcome.is_ok(), "{} evaluates", subject.label);
        group.bench_function(subject.label, |b| {
            b.iter(|| plugin.evaluate(&subject.input).outcome.is_ok());
        });
    }
    group.finish();

    // Two threads calling at once: the calls/s a 2-core server gets from one plugin.
    let mut group = c.benchmark_group("per_call_2_threads");
    group.throughput(Throughput::Elements(1));
    let rust = &subjects()[0];
    let plugin = sandbox.load(&rust.wasm, rust.limits.clone()).expect("load");
    group.bench_function(rust.label, |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..2 {
                    scope.spawn(|| {
                        for _ in 0..iters.div_ceil(2) {
                            let _ = plugin.evaluate(&rust.input);
                        }
                    });
                }
            });
            started.elapsed()
        });
    });
    group.finish();
}

fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    let uncached = Sandbox::new(SandboxConfig::default()).expect("sandbox");
    let cache = tempfile::tempdir().expect("cache dir");
    let cached = Sandbox::new(SandboxConfig { cache_dir: Some(cache.path().into()), ..SandboxConfig::default() })
        .expect("sandbox");
    for subject in subjects() {
        group.bench_function(format!("{}/cold_compile", subject.label), |b| {
            b.iter(|| uncached.load(&subject.wasm, subject.limits.clone()).is_ok());
        });
        let _ = cached.load(&subject.wasm, subject.limits.clone()).expect("warm the cache");
        group.bench_function(format!("{}/cached", subject.label), |b| {
            b.iter(|| cached.load(&subject.wasm, subject.limits.clone()).is_ok());
        });
    }
    group.finish();
}

criterion_group!(benches, per_call, load);
criterion_main!(benches);
