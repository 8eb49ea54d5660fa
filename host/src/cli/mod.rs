//! The `ember` command's subcommands other than `serve`.

pub mod dataset;
pub mod experiment;
pub mod plugin;

pub use plugin::{run, PluginCommand, RunArgs};
