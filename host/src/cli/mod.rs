//! The `ember` command's subcommands other than `serve`.

pub mod backup;
pub mod dataset;
pub mod experiment;
pub mod http;
pub mod install;
pub mod plugin;
pub mod summary;
pub mod table;
pub mod task;

pub use plugin::{run, PluginCommand};
