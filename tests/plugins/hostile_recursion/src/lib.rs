//! Hostile: `evaluate` recurses without bound. The recursion is not a tail call (the result of
//! the inner call is combined with the frame's own value) and its stop condition is a volatile
//! read that never matches, so LLVM can neither turn it into a loop nor remove it. Each level
//! keeps its state in Wasm locals, not on the shadow stack in linear memory, so what runs out is
//! the engine's native stack for Wasm frames.
//!
//! The host must end the call with a stack-overflow trap (wasmtime `Trap::StackOverflow`).

wit_bindgen::generate!({
    path: "../../../wit",
    world: "ember:plugin/evaluator",
});

/// Never reached by `depth`; read with `read_volatile` at every level.
static FLOOR: u64 = u64::MAX;

#[inline(never)]
fn dive(depth: u64) -> u64 {
    // SAFETY: reading an immutable static through a valid pointer.
    if depth == unsafe { core::ptr::read_volatile(&FLOOR) } {
        return depth;
    }
    let below = dive(depth + 1);
    below.rotate_left((depth & 63) as u32) ^ depth
}

struct HostileRecursion;

impl Guest for HostileRecursion {
    fn describe() -> Descriptor {
        Descriptor {
            name: "hostile_recursion".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Hostile: evaluate recurses forever (expect a stack-overflow trap)".into(),
            config_schema: None,
        }
    }

    fn evaluate(_input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let result = dive(0);
        Ok(vec![Score {
            name: "hostile_recursion".into(),
            score: Some(0.0),
            label: Some("escaped".into()),
            explanation: Some(format!("the recursion ended with {result}")),
            metadata: None,
        }])
    }
}

export!(HostileRecursion);
