//! `ember-componentize <input> <component.wasm>`: makes a Wasm component out of either
//! - a core module built for `wasm32-unknown-unknown` with wit-bindgen, wrapped using the WIT world
//!   that wit-bindgen embedded in the module's custom sections (such guests import no WASI, so no
//!   adapter is needed), or
//! - a component written by hand in the text format (`*.wat`), assembled and validated; the hostile
//!   corpus uses these to lay out canonical-ABI values byte by byte.

use anyhow::{bail, Context, Result};
use wit_component::ComponentEncoder;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        bail!("usage: ember-componentize <core.wasm | component.wat> <component.wasm>");
    };
    let component = if input.ends_with(".wat") { assemble(input)? } else { componentize(input)? };
    std::fs::write(output, &component).with_context(|| format!("writing {output}"))?;
    println!("{output}: {} bytes", component.len());
    Ok(())
}

fn componentize(input: &str) -> Result<Vec<u8>> {
    let module = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    ComponentEncoder::default()
        .module(&module)
        .with_context(|| format!("{input}: no component type information (was it built with wit-bindgen?)"))?
        .validate(true)
        .encode()
        .with_context(|| format!("encoding {input} as a component"))
}

fn assemble(input: &str) -> Result<Vec<u8>> {
    let binary = wat::parse_file(input).with_context(|| format!("assembling {input}"))?;
    if !wasmparser::Parser::is_component(&binary) {
        bail!("{input} is a core module, not a component");
    }
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&binary)
        .with_context(|| format!("{input} is not a valid component"))?;
    Ok(binary)
}
