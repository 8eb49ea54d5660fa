//! Hostile WASI prober, built for `wasm32-wasip2` so that Rust's std imports WASI. `evaluate`
//! tries what a plugin must never get and returns one score whose `metadata` is a JSON object
//! reporting exactly what it observed:
//!
//! ```json
//! {"env_count": 0, "env": [], "args": [],
//!  "files": {"/etc/passwd": "error: …", ".": "error: …", "/": "error: …"},
//!  "dir": "error: …", "wall_clock_unix_secs": 0, "wall_clock_unix_nanos": 0,
//!  "monotonic_elapsed_nanos": 0, "wasi_wall_clock_secs": 0, "wasi_monotonic_clock_nanos": 0,
//!  "tcp": "error: …", "stdout": "written", "stderr": "written"}
//! ```
//!
//! `files` values are `"read N bytes"` on success; `dir` is a list of names on success. Env, args,
//! files, the directory and the `wall_clock_*`/`monotonic_elapsed_nanos` values go through Rust's
//! std (wasi-libc, adapted from preview 1 to `wasi:*@0.2` by wasm-component-ld); the `wasi_*`
//! clock values and the TCP probe call `wasi:clocks` and `wasi:sockets` directly. It also
//! prints one line to stdout and one to stderr, which the host should capture into the call's log.
//! The host's test asserts that everything was denied: no environment, no files, clock frozen at
//! the epoch, no socket.

wit_bindgen::generate!({
    path: "../../../wit",
    world: "ember:plugin/evaluator",
});

use std::io::Write;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A JSON string literal.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", quoted.join(","))
}

fn probe_file(path: &str) -> String {
    match std::fs::read(path) {
        Ok(bytes) => format!("read {} bytes", bytes.len()),
        Err(error) => format!("error: {error}"),
    }
}

fn probe_dir(path: &str) -> String {
    match std::fs::read_dir(path) {
        Ok(entries) => {
            let names: Vec<String> = entries
                .map(|entry| match entry {
                    Ok(entry) => entry.file_name().to_string_lossy().into_owned(),
                    Err(error) => format!("error: {error}"),
                })
                .collect();
            list(&names)
        }
        Err(error) => quote(&format!("error: {error}")),
    }
}

/// Connects to 127.0.0.1:5432 through `wasi:sockets` directly: Debian's wasi-libc (2022) has no
/// socket functions, so std's `TcpStream` cannot link for wasm32-wasip2 on this machine.
fn probe_tcp() -> String {
    use wasi::sockets::instance_network::instance_network;
    use wasi::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};
    use wasi::sockets::tcp_create_socket::create_tcp_socket;

    let network = instance_network();
    let socket = match create_tcp_socket(IpAddressFamily::Ipv4) {
        Ok(socket) => socket,
        Err(error) => return format!("error: create-tcp-socket: {error:?}"),
    };
    let remote = IpSocketAddress::Ipv4(Ipv4SocketAddress { port: 5432, address: (127, 0, 0, 1) });
    if let Err(error) = socket.start_connect(&network, remote) {
        return format!("error: start-connect: {error:?}");
    }
    let ready = socket.subscribe();
    for _ in 0..100 {
        match socket.finish_connect() {
            Ok((_input, _output)) => return "connected to 127.0.0.1:5432".to_string(),
            Err(ErrorCode::WouldBlock) => ready.block(),
            Err(error) => return format!("error: finish-connect: {error:?}"),
        }
    }
    "error: still connecting after 100 polls".to_string()
}

fn observe() -> String {
    let env: Vec<String> = std::env::vars_os().map(|(k, _)| k.to_string_lossy().into_owned()).collect();
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();

    let files: Vec<String> =
        ["/etc/passwd", ".", "/"].iter().map(|path| format!("{}:{}", quote(path), quote(&probe_file(path)))).collect();
    let dir = probe_dir(".");

    let (wall_secs, wall_nanos) = match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => (since.as_secs().to_string(), since.as_nanos().to_string()),
        Err(error) => (quote(&format!("error: {error}")), "null".to_string()),
    };
    let start = Instant::now();
    let mut spin = 0u64;
    for i in 0..100_000u64 {
        spin = core::hint::black_box(spin.wrapping_add(i));
    }
    let elapsed = start.elapsed().as_nanos();
    let raw_wall = wasi::clocks::wall_clock::now();
    let raw_monotonic = wasi::clocks::monotonic_clock::now();

    let tcp = probe_tcp();
    let stdout = match writeln!(std::io::stdout(), "hostile_wasi: hello from stdout ({spin})") {
        Ok(()) => "written".to_string(),
        Err(error) => format!("error: {error}"),
    };
    let stderr = match writeln!(std::io::stderr(), "hostile_wasi: hello from stderr") {
        Ok(()) => "written".to_string(),
        Err(error) => format!("error: {error}"),
    };

    format!(
        concat!(
            "{{\"env_count\":{},\"env\":{},\"args\":{},\"files\":{{{}}},\"dir\":{},",
            "\"wall_clock_unix_secs\":{},\"wall_clock_unix_nanos\":{},",
            "\"monotonic_elapsed_nanos\":{},\"wasi_wall_clock_secs\":{},",
            "\"wasi_monotonic_clock_nanos\":{},\"tcp\":{},\"stdout\":{},\"stderr\":{}}}"
        ),
        env.len(),
        list(&env),
        list(&args),
        files.join(","),
        dir,
        wall_secs,
        wall_nanos,
        elapsed,
        raw_wall.seconds,
        raw_monotonic,
        quote(&tcp),
        quote(&stdout),
        quote(&stderr),
    )
}

struct HostileWasi;

impl Guest for HostileWasi {
    fn describe() -> Descriptor {
        Descriptor {
            name: "hostile_wasi".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Hostile: probes WASI env, files, clocks and sockets and reports what it \
                          saw (expect all denied)"
                .into(),
            config_schema: None,
        }
    }

    fn evaluate(_input: EvalInput) -> Result<Vec<Score>, PluginError> {
        let metadata = observe();
        Ok(vec![Score {
            name: "hostile_wasi".into(),
            score: Some(0.0),
            label: Some("probed".into()),
            explanation: Some("what the WASI probes observed is in metadata".into()),
            metadata: Some(metadata),
        }])
    }
}

export!(HostileWasi);
