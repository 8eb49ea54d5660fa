//! Hostile at instantiation: an 80 MiB zero-initialised static. The linker puts it in `.bss`, so
//! the `.wasm` stays small (no data segment), but the module's memory declares an initial size of
//! about 81 MiB (80 MiB + 1 MiB of shadow stack + a little data). Wasmtime asks the store's
//! resource limiter for that whole memory while instantiating, before any export runs.
//!
//! With a memory limit below about 81 MiB (the host's 64 MiB, say) every call, `describe`
//! included, must fail with out-of-memory at instantiation: the plugin cannot even be loaded.
//! With a larger limit it instantiates, `evaluate` writes one byte in each 64 KiB page of the
//! static (making the pages resident) and returns score 1.0.

wit_bindgen::generate!({
    path: "../../../wit",
    world: "ember:plugin/evaluator",
});

const BIG_BYTES: usize = 80 << 20;
const PAGE: usize = 64 << 10;

static mut BIG: [u8; BIG_BYTES] = [0; BIG_BYTES];

struct HostileStart;

impl Guest for HostileStart {
    fn describe() -> Descriptor {
        Descriptor {
            name: "hostile_start".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Hostile: 80 MiB static, so instantiation needs ~81 MiB of memory \
                          (expect out-of-memory at instantiation)"
                .into(),
            config_schema: None,
        }
    }

    fn evaluate(_input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let big = core::ptr::addr_of_mut!(BIG).cast::<u8>();
        let mut touched = 0usize;
        for offset in (0..BIG_BYTES).step_by(PAGE) {
            // SAFETY: `offset < BIG_BYTES`; single-threaded, nothing else borrows `BIG`.
            unsafe { big.add(offset).write_volatile(1) };
            touched += 1;
        }
        Ok(vec![Score {
            name: "hostile_start".into(),
            score: Some(1.0),
            label: Some("instantiated".into()),
            explanation: Some(format!("touched {touched} pages of a {BIG_BYTES}-byte static")),
            metadata: None,
        }])
    }
}

export!(HostileStart);
