//! Hostile: `evaluate` spins forever. The loop condition is a volatile read of a static that
//! nothing ever writes, and the counter goes through `black_box`, so the optimiser cannot prove
//! the loop is infinite or empty and remove it.
//!
//! The host must end the call with out-of-fuel (or the wall-clock deadline when the fuel budget is
//! too large to run out first).

wit_bindgen::generate!({
    path: "../../../wit",
    world: "ember:plugin/evaluator",
});

use core::hint::black_box;

/// Never written; read with `read_volatile` on every iteration.
static STOP: u32 = 0;

struct HostileLoop;

impl Guest for HostileLoop {
    fn describe() -> Descriptor {
        Descriptor {
            name: "hostile_loop".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Hostile: evaluate loops forever (expect out-of-fuel or deadline)".into(),
            config_schema: None,
        }
    }

    fn evaluate(_input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let mut spins: u64 = 0;
        // SAFETY: reading an immutable static through a valid pointer.
        while unsafe { core::ptr::read_volatile(&STOP) } == 0 {
            spins = black_box(spins.wrapping_add(1));
        }
        // Unreachable in practice; kept so the loop has an observable result.
        Ok(vec![Score {
            name: "hostile_loop".into(),
            score: Some(0.0),
            label: Some("escaped".into()),
            explanation: Some(format!("the loop ended after {spins} spins")),
            metadata: None,
        }])
    }
}

export!(HostileLoop);
