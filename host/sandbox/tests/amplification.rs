//! Values built to amplify what the host copies out of a sandbox (the hand-written components in
//! `tests/plugins/wat`): strings that alias one buffer, millions of empty entries, lists nested
//! over one shared list, in results and in the arguments of `llm` and `outbound-http`. Each must
//! end its own call with `output_too_large`, and the host must stop copying at the call's cap.
//!
//! This test binary counts the bytes every thread allocates (a global allocator wrapping the
//! system's), so each test can measure the peak its own call made the host allocate.

#![allow(clippy::unwrap_used)] // tests fail loudly on the first surprise
#![allow(unsafe_code)] // the counting allocator: the only way to see what a call makes the host allocate

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ember_sandbox::{
    ChatError, ChatRequest, ChatResponse, EvalInput, Field, Grants, LlmBroker, LlmCaller, Message, Outbound,
    OutboundError, OutboundRequest, OutboundResponse, Plugin, Report, Role, SandboxError, Services, Span,
};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + delta);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
}

// SAFETY: every method forwards to the system allocator unchanged and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `call` and returns its report with the most bytes it had allocated at once on this
/// thread (which is where a call lifts its values).
fn measured<T>(call: impl FnOnce() -> Report<T>) -> (Report<T>, u64) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let report = call();
    let peak = PEAK.with(Cell::get);
    (report, u64::try_from(peak - start).unwrap_or(0))
}

/// What a refused call may cost the host at most: the lifted part of the transfer (2½ times the
/// cap, see `Limits::host_bytes`) plus a fixed megabyte for the store and the instance.
fn bound(plugin: &Plugin) -> u64 {
    plugin.limits().transfer_bytes() * 5 / 2 + (1 << 20)
}

fn assert_refused<T: std::fmt::Debug>(what: &str, plugin: &Plugin, call: impl FnOnce() -> Report<T>) {
    let (report, peak) = measured(call);
    let limit = plugin.limits().transfer_bytes();
    assert_eq!(report.outcome.as_ref().err(), Some(&SandboxError::OutputTooLarge { limit }), "{what}");
    assert!(peak <= bound(plugin), "{what}: the host allocated {peak} bytes, over {}", bound(plugin));
    eprintln!("{what}: refused; the host allocated at most {peak} bytes (cap {limit})");
}

fn values() -> Plugin {
    support::hostile("hostile_values")
}

fn shape(name: &str) -> EvalInput {
    EvalInput::new(format!("\"{name}\""), "\"answer\"")
}

#[test]
fn aliased_strings_in_a_result_are_refused_before_they_are_copied() {
    let plugin = values();
    assert_refused("aliased scores", &plugin, || plugin.evaluate(&shape("alias")));
}

#[test]
fn the_cap_follows_the_plugins_own_limits() {
    let tight =
        values().with_limits(ember_sandbox::Limits { max_output_bytes: 256 << 10, ..values().limits().clone() });
    assert_eq!(tight.limits().transfer_bytes(), 256 << 10);
    assert_refused("aliased scores under a 256 KiB cap", &tight, || tight.evaluate(&shape("alias")));
}

#[test]
fn millions_of_empty_entries_are_refused_before_they_are_copied() {
    let plugin = values();
    assert_refused("800,000 empty scores", &plugin, || plugin.evaluate(&shape("empty")));
}

#[test]
fn the_same_plugin_answers_a_polite_call() {
    let scores = values().evaluate(&shape("polite")).outcome.expect("a polite shape succeeds");
    assert_eq!(scores.len(), 1);
    assert_eq!((scores[0].name.as_str(), scores[0].score), ("hostile_values", Some(1.0)));
}

/// An `llm` broker that counts the requests that reach it.
#[derive(Default)]
struct CountingBroker(AtomicUsize);

impl LlmBroker for CountingBroker {
    fn complete(&self, _: Option<&str>, _: ChatRequest, _: &LlmCaller<'_>) -> Result<ChatResponse, ChatError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Err(ChatError::Failed("the test broker answers nothing".into()))
    }
}

#[test]
fn aliased_and_nested_llm_arguments_are_refused_before_they_are_copied() {
    let broker = Arc::new(CountingBroker::default());
    let services = Services { llm: Some(broker.clone()), ..Services::default() };
    for granted in [false, true] {
        let plugin = values().with_grants(Grants { llm: granted, ..Grants::default() }).with_services(services.clone());
        assert_refused("llm: 1,024 aliased messages", &plugin, || plugin.evaluate(&shape("llm")));
        assert_refused("llm: 1,000 messages sharing 1,000 tool calls", &plugin, || plugin.evaluate(&shape("nested")));
    }
    assert_eq!(broker.0.load(Ordering::Relaxed), 0, "no request reached the broker");
}

#[test]
fn nested_lists_in_span_changes_are_refused_before_they_are_copied() {
    let plugin = support::hostile("hostile_nested");
    let span = Span {
        project: "default".into(),
        trace_id: "0".repeat(32),
        span_id: "1".repeat(16),
        parent_id: None,
        name: "span".into(),
        kind: "CHAIN".into(),
        status_code: "OK".into(),
        start_time_unix_nano: 0,
        end_time_unix_nano: 1,
        model_name: None,
        model_provider: None,
        prompt_tokens: None,
        completion_tokens: None,
        total_tokens: None,
        attributes: "{}".into(),
    };
    assert_refused("span changes sharing one list", &plugin, || plugin.process(std::slice::from_ref(&span)));
}

#[test]
fn aliased_redactions_are_refused_before_they_are_copied() {
    let plugin = support::hostile("hostile_redact");
    let field = Field { span: 0, path: "input.value".into(), value: "text".into() };
    assert_refused("aliased redactions", &plugin, || plugin.redact(std::slice::from_ref(&field)));
}

/// An HTTP client that counts the requests that reach it.
#[derive(Default)]
struct CountingOutbound(AtomicUsize);

impl Outbound for CountingOutbound {
    fn send(&self, _: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Err(OutboundError::Connection("the test client sends nothing".into()))
    }
}

#[test]
fn a_provider_cannot_amplify_through_its_results_or_outbound_http() {
    let outbound = Arc::new(CountingOutbound::default());
    let services = Services { outbound: Some(outbound.clone()), ..Services::default() };
    let grants = Grants { hosts: ["api.example.com".into()].into(), ..Grants::default() };
    let plugin = support::hostile("hostile_provider").with_grants(grants).with_services(services);
    assert_refused("1,024 aliased model names", &plugin, || plugin.models());
    let request = ChatRequest {
        model: "m".into(),
        messages: vec![Message { role: Role::User, content: "hi".into(), tool_calls: Vec::new(), tool_call_id: None }],
        tools: Vec::new(),
        tool_choice: None,
        response_format: None,
        temperature: None,
        max_tokens: None,
        top_p: None,
        stop: Vec::new(),
        extra: None,
    };
    assert_refused("outbound-http: 1,024 aliased headers", &plugin, || plugin.chat(&request));
    assert_eq!(outbound.0.load(Ordering::Relaxed), 0, "no request reached the HTTP client");
}
