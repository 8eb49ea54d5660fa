//! Write Ember plugins in Rust.
//!
//! A plugin is a WebAssembly component implementing one world of the `ember:plugin` WIT package.
//! Enable exactly one feature of this crate — `evaluator`, `span-processor`, `redactor` or
//! `provider` — implement the world's trait and export your type with the world's macro.
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib", "rlib"]
//!
//! [dependencies]
//! ember-plugin-sdk = { path = "…/sdk/rust", features = ["evaluator"] }
//! serde = { version = "1", features = ["derive"] }
//! ```
//!
//! A complete evaluator (configuration, a required reference answer, one score):
//!
#![cfg_attr(feature = "evaluator", doc = "```rust")]
#![cfg_attr(not(feature = "evaluator"), doc = "```rust,ignore")]
//! use ember_plugin_sdk::evaluator::{Descriptor, EvalInput, Evaluator, PluginError, Score};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, Default)]
//! #[serde(default)]
//! struct Config {
//!     case_insensitive: bool,
//! }
//!
//! struct StartsWith;
//!
//! impl Evaluator for StartsWith {
//!     fn describe() -> Descriptor {
//!         Descriptor::new("starts_with", env!("CARGO_PKG_VERSION"), "Does the output start with the expected text?")
//!     }
//!
//!     fn evaluate(input: EvalInput) -> Result<Vec<Score>, PluginError> {
//!         let config: Config = ember_plugin_sdk::config()?;
//!         let expected = ember_plugin_sdk::json::text(input.require_expected()?);
//!         let output = input.output_text();
//!         let hit = if config.case_insensitive {
//!             output.to_lowercase().starts_with(&expected.to_lowercase())
//!         } else {
//!             output.starts_with(&expected)
//!         };
//!         ember_plugin_sdk::log::debug(format!("starts_with: {hit}"));
//!         Ok(vec![Score::new("starts_with")
//!             .score(if hit { 1.0 } else { 0.0 })
//!             .label(if hit { "match" } else { "no_match" })
//!             .explanation(format!("the output {} with {expected:?}", if hit { "starts" } else { "does not start" }))])
//!     }
//! }
//!
//! ember_plugin_sdk::export_evaluator!(StartsWith);
//! # fn main() {
//! #     let input = EvalInput::new(r#""q""#, r#""Paris, France""#, Some(r#""Paris""#.into()));
//! #     let scores = StartsWith::evaluate(input).unwrap();
//! #     assert_eq!(scores[0].score, Some(1.0));
//! # }
//! ```
//!
//! Build it for `wasm32-unknown-unknown` and turn the core module into a component with
//! `ember-componentize`; `sdk/rust.md` walks through it. Outside the sandbox (unit tests) the host
//! functions are stand-ins: [`config`] returns `{}` (or what [`set_native_config`] set) and the
//! [`log`] functions print to stderr, so an export can run natively; imports that reach the outside
//! (`llm`, `outbound-http`) panic there.
//!
//! Every call runs in a fresh instance: a plugin keeps no state between calls, and anything it
//! builds once per call (a compiled regex, a parsed table) is built again on the next one.

// Several worlds in one Wasm module make a component that imports the other worlds' interfaces,
// which the host refuses; say so at build time. (Natively, for tests, any mix is fine.)
#[cfg(all(
    target_arch = "wasm32",
    any(
        all(feature = "evaluator", any(feature = "span-processor", feature = "redactor", feature = "provider")),
        all(feature = "span-processor", any(feature = "redactor", feature = "provider")),
        all(feature = "redactor", feature = "provider"),
    )
))]
compile_error!(
    "ember-plugin-sdk: a Wasm plugin enables exactly one world feature (evaluator, span-processor, redactor or \
     provider). In a workspace, build each plugin on its own (`-p name`) so that other members' features do not unify."
);

mod config;
mod host;
pub mod json;
pub mod log;
#[cfg(any(feature = "evaluator", feature = "span-processor", feature = "redactor", feature = "provider"))]
mod panic;
#[allow(unused_macros, unused_imports)]
mod world;

#[cfg(not(target_arch = "wasm32"))]
pub use config::set_native_config;
pub use config::{config, config_json, parse_config, ConfigError};
pub use serde_json;

#[cfg(feature = "evaluator")]
pub mod evaluator;
#[cfg(feature = "provider")]
pub mod provider;
#[cfg(feature = "redactor")]
pub mod redactor;
#[cfg(feature = "span-processor")]
pub mod span_processor;
