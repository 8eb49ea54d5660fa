//! The hostile plugin corpus (tests/plugins) through the sandbox: each misbehaviour ends its own
//! call with the right typed error, and well-behaved calls running at the same time succeed.

#![allow(clippy::unwrap_used)] // tests fail loudly on the first surprise

mod support;

use std::time::Duration;

use ember_sandbox::{EvalInput, Grants, Limits, LoadError, SandboxError, World};
use support::hostile;

fn input() -> EvalInput {
    EvalInput::new("\"question\"", "\"answer\"").expected("\"answer\"")
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let report = hostile("hostile_loop").evaluate(&input());
    assert_eq!(report.outcome, Err(SandboxError::OutOfFuel { budget: Limits::default().fuel }));
    assert_eq!(report.instructions, Limits::default().fuel);
}

#[test]
fn an_infinite_loop_with_unlimited_fuel_hits_the_deadline() {
    let limits = Limits { fuel: u64::MAX / 2, deadline: Duration::from_millis(200), ..Limits::default() };
    let report = hostile("hostile_loop").with_limits(limits).evaluate(&input());
    assert_eq!(report.outcome, Err(SandboxError::Deadline(Duration::from_millis(200))));
    assert!(report.elapsed >= Duration::from_millis(200), "{:?}", report.elapsed);
    assert!(report.elapsed < Duration::from_secs(2), "{:?}", report.elapsed);
}

#[test]
fn a_memory_bomb_runs_out_of_memory() {
    let report = hostile("hostile_memory").evaluate(&input());
    match report.outcome {
        Err(SandboxError::OutOfMemory { limit, requested }) => {
            assert_eq!(limit, 64 << 20);
            assert!(requested > limit);
        }
        other => panic!("expected out of memory, got {other:?}"),
    }
}

#[test]
fn unbounded_recursion_overflows_the_stack() {
    assert_eq!(hostile("hostile_recursion").evaluate(&input()).outcome, Err(SandboxError::StackOverflow));
}

#[test]
fn a_panic_is_a_trap() {
    let outcome = hostile("hostile_panic").evaluate(&input()).outcome;
    assert!(matches!(outcome, Err(SandboxError::Trap(ref message)) if message.contains("unreachable")), "{outcome:?}");
}

#[test]
fn huge_output_is_refused() {
    // 8 MiB fits in the plugin's memory but not under the 4 MiB output cap.
    let plugin = hostile("hostile_output").with_config(r#"{"explanation_bytes": 8388608}"#);
    let outcome = plugin.evaluate(&input()).outcome;
    assert!(matches!(outcome, Err(SandboxError::OutputTooLarge { limit, .. }) if limit == 4 << 20), "{outcome:?}");
}

#[test]
fn a_log_flood_is_capped_and_the_call_succeeds() {
    // A million host calls: give it the fuel and time to make them all.
    let limits = Limits { fuel: 50_000_000_000, deadline: Duration::from_secs(30), ..Limits::default() };
    let report = hostile("hostile_log_flood").with_limits(limits).evaluate(&input());
    let scores = report.outcome.expect("the call itself is fine");
    assert_eq!(scores.len(), 1);
    let kept: usize = report.log.iter().map(|line| line.message.len()).sum();
    assert!(kept as u64 <= Limits::default().max_log_bytes, "{kept}");
    assert!(report.log_dropped > 900_000, "{}", report.log_dropped);
}

#[test]
fn an_ungranted_llm_call_is_denied() {
    let outcome = hostile("hostile_llm").evaluate(&input()).outcome;
    assert!(matches!(outcome, Err(SandboxError::CapabilityDenied { capability: "llm", .. })), "{outcome:?}");
}

#[test]
fn ungranted_hosts_private_addresses_and_secrets_are_denied() {
    let plugin = hostile("hostile_http");
    assert_eq!(plugin.world(), World::Provider);
    let outcome = plugin.models().outcome;
    assert!(
        matches!(&outcome, Err(SandboxError::CapabilityDenied { capability: "http", detail }) if detail.contains("evil.example.com")),
        "{outcome:?}"
    );
    // Granting every host it names still leaves private addresses and the secret refused.
    let grants = Grants {
        hosts: ["evil.example.com", "127.0.0.1", "169.254.169.254"].map(String::from).into(),
        ..Grants::default()
    };
    let outcome = plugin.with_grants(grants).models().outcome;
    assert!(
        matches!(&outcome, Err(SandboxError::CapabilityDenied { capability: "http" | "secret", .. })),
        "{outcome:?}"
    );
}

#[test]
fn a_wasi_guest_sees_no_environment_files_clock_or_network() {
    let report = hostile("hostile_wasi").evaluate(&input());
    let scores = report.outcome.expect("the probe completes");
    let observed: serde_json::Value = serde_json::from_str(scores[0].metadata.as_deref().unwrap()).unwrap();
    assert_eq!(observed["env_count"], 0, "{observed}");
    for (path, result) in observed["files"].as_object().unwrap() {
        assert!(result.as_str().unwrap().starts_with("error"), "{path}: {result}");
    }
    assert!(observed["dir"].as_str().is_some_and(|dir| dir.starts_with("error")), "{observed}");
    assert_eq!(observed["wall_clock_unix_secs"], 0, "{observed}");
    assert_eq!(observed["wasi_wall_clock_secs"], 0, "{observed}");
    assert_eq!(observed["wasi_monotonic_clock_nanos"], 0, "{observed}");
    assert!(observed["tcp"].as_str().is_some_and(|tcp| tcp.starts_with("error")), "{observed}");
    assert!(report.log.iter().any(|line| line.message.contains("stdout")), "stdout captured: {:?}", report.log);
}

#[test]
fn a_huge_static_memory_fails_at_instantiation() {
    let wasm = support::component("tests/plugins", "hostile_start");
    // Its initial memory is over the 64 MiB default: even `describe` cannot instantiate it.
    match support::sandbox().load(&wasm, Limits::default()) {
        Err(LoadError::Describe(error)) => {
            assert!(matches!(*error, SandboxError::OutOfMemory { limit, .. } if limit == 64 << 20), "{error:?}")
        }
        other => panic!("expected out of memory while loading, got {other:?}"),
    }
    let roomy = Limits { memory_bytes: 128 << 20, ..Limits::default() };
    let plugin = support::sandbox().load(&wasm, roomy).expect("loads with a larger limit");
    assert_eq!(plugin.evaluate(&input()).outcome.expect("runs")[0].score, Some(1.0));
}

#[test]
fn hostile_calls_do_not_disturb_concurrent_good_ones() {
    let slow = Limits { fuel: u64::MAX / 2, deadline: Duration::from_millis(300), ..Limits::default() };
    let looping = hostile("hostile_loop").with_limits(slow);
    let bombs = [hostile("hostile_memory"), hostile("hostile_recursion"), hostile("hostile_panic")];
    let polite = hostile("polite_echo");
    std::thread::scope(|scope| {
        let loops: Vec<_> = (0..2).map(|_| scope.spawn(|| looping.evaluate(&input()).outcome)).collect();
        let bombs: Vec<_> = bombs.iter().map(|bomb| scope.spawn(|| bomb.evaluate(&input()).outcome)).collect();
        let mut succeeded = 0;
        while loops.iter().any(|handle| !handle.is_finished()) {
            let scores = polite.evaluate(&input()).outcome.expect("a polite call succeeds meanwhile");
            assert_eq!(scores[0].score, Some(1.0));
            succeeded += 1;
        }
        assert!(succeeded > 10, "only {succeeded} polite calls while the loops ran");
        for handle in loops {
            assert!(matches!(handle.join().unwrap(), Err(SandboxError::Deadline(_))));
        }
        for handle in bombs {
            assert!(handle.join().unwrap().is_err());
        }
    });
}

#[test]
fn a_trapped_plugin_still_serves_the_next_call() {
    let plugin = hostile("hostile_panic");
    for _ in 0..3 {
        assert!(matches!(plugin.evaluate(&input()).outcome, Err(SandboxError::Trap(_))));
    }
    let polite = hostile("polite_echo");
    assert!(polite.evaluate(&input()).outcome.is_ok());
}

#[test]
fn a_wasi_sleep_is_refused_at_once() {
    let limits = Limits { deadline: Duration::from_secs(30), ..Limits::default() };
    let report = hostile("hostile_sleep").with_limits(limits).evaluate(&input());
    assert!(
        matches!(&report.outcome, Err(SandboxError::CapabilityDenied { capability: "clock", .. })),
        "{:?}",
        report.outcome
    );
    assert!(report.elapsed < Duration::from_secs(1), "refused, not slept: {:?}", report.elapsed);
}

#[test]
fn a_memory_limit_above_the_pool_slot_is_refused_up_front() {
    let limits = Limits { memory_bytes: 4 << 30, ..Limits::default() };
    let outcome = hostile("polite_echo").with_limits(limits).evaluate(&input()).outcome;
    assert!(matches!(&outcome, Err(SandboxError::Instantiate(m)) if m.contains("per-plugin maximum")), "{outcome:?}");
}
