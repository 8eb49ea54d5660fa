//! The WASI context given to guests that import WASI (Python, JavaScript): nothing is granted.
//!
//! No preopened directories, no environment, no arguments, no sockets or name lookups, empty
//! stdin, clocks frozen at the Unix epoch, and stdout/stderr captured (capped) into the call log.
//! Randomness is the one thing provided: interpreters need it to start, and it reveals nothing.

use std::time::Duration;

use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder};

use crate::state::LogLevel;

/// A deny-all WASI context and the pipes that capture the guest's output.
pub(crate) struct DenyAllWasi {
    ctx: WasiCtx,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

impl DenyAllWasi {
    /// A fresh context whose stdout and stderr each keep at most `max_output` bytes, and which
    /// hands out at most `max_random` random bytes per call (the host builds them before the
    /// guest's memory limit can refuse them).
    pub fn new(max_output: usize, max_random: u64) -> Self {
        let stdout = MemoryOutputPipe::new(max_output);
        let stderr = MemoryOutputPipe::new(max_output);
        let ctx = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .max_random_size(max_random)
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        Self { ctx, stdout, stderr }
    }

    pub fn ctx(&mut self) -> &mut WasiCtx {
        &mut self.ctx
    }

    /// What the guest wrote, as (level, text): stdout at info, stderr at warn.
    pub fn output(&self) -> [(LogLevel, String); 2] {
        [
            (LogLevel::Info, String::from_utf8_lossy(&self.stdout.contents()).into_owned()),
            (LogLevel::Warn, String::from_utf8_lossy(&self.stderr.contents()).into_owned()),
        ]
    }
}

/// A clock that always reads zero: plugins are not granted time.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}
