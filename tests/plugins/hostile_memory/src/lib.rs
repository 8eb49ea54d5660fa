//! Hostile: `evaluate` hoards memory. It allocates 1 MiB chunks, fills each with non-zero bytes
//! (so the pages are really touched) and keeps them all, until an allocation fails. The failed
//! `memory.grow` is refused by the host's memory limiter; Rust then aborts (a trap).
//!
//! The host must end the call with out-of-memory.

wit_bindgen::generate!({
    path: "../../../wit",
    world: "ember:plugin/evaluator",
});

use core::hint::black_box;

const CHUNK: usize = 1 << 20;

struct HostileMemory;

impl Guest for HostileMemory {
    fn describe() -> Descriptor {
        Descriptor {
            name: "hostile_memory".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Hostile: evaluate allocates 1 MiB chunks forever (expect out-of-memory)".into(),
            config_schema: None,
        }
    }

    fn evaluate(_input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk = vec![0xA5u8; CHUNK];
            chunk[hoard.len() % CHUNK] = 0x5A;
            hoard.push(black_box(chunk));
            // Going past 4 GiB is impossible on wasm32; this only keeps the loop observable.
            if black_box(hoard.len()) == usize::MAX {
                break;
            }
        }
        Ok(vec![Score {
            name: "hostile_memory".into(),
            score: Some(0.0),
            label: Some("escaped".into()),
            explanation: Some(format!("hoarded {} MiB", hoard.len())),
            metadata: None,
        }])
    }
}

export!(HostileMemory);
