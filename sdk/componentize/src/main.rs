//! `ember-componentize <core.wasm> <component.wasm>`: wraps a core module built for
//! `wasm32-unknown-unknown` with wit-bindgen into a component, using the WIT world that
//! wit-bindgen embedded in the module's custom sections. Such guests import no WASI, so no adapter
//! is needed.

use anyhow::{bail, Context, Result};
use wit_component::ComponentEncoder;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        bail!("usage: ember-componentize <core.wasm> <component.wasm>");
    };
    let module = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let component = ComponentEncoder::default()
        .module(&module)
        .with_context(|| format!("{input}: no component type information (was it built with wit-bindgen?)"))?
        .validate(true)
        .encode()
        .with_context(|| format!("encoding {input} as a component"))?;
    std::fs::write(output, &component).with_context(|| format!("writing {output}"))?;
    println!("{output}: {} bytes", component.len());
    Ok(())
}
