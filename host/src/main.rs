//! The `ember` command. The client subcommands (`cli/`) belong to the binary: they talk to a
//! server over HTTP and to the sandbox, never to the server library's internals.

mod cli;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "ember", version, about = "Self-hosted LLM tracing and evaluation with sandboxed Wasm plugins")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: OTLP ingestion, storage and the REST API.
    Serve(Box<ember::ServeConfig>),
    /// Inspect plugin components and try evaluators locally.
    #[command(subcommand)]
    Plugin(cli::PluginCommand),
    /// Upload, list and export datasets on a running server.
    Dataset(cli::dataset::DatasetArgs),
    /// Run experiments on a running server's datasets, scored by its evaluator plugins.
    Experiment(cli::experiment::ExperimentArgs),
    /// Copy the SQLite database to a new file while the server runs (online and consistent).
    Backup(cli::backup::DatabaseArgs),
    /// Put a backup in place of the SQLite database (stop the server first); the replaced
    /// database is kept beside it.
    Restore(cli::backup::DatabaseArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // The HTTP client under provider plugins logs requests at debug level, headers included:
    // never let that through, whatever RUST_LOG says, so that secret values stay out of logs.
    let filter = ["ureq=info", "ureq_proto=info", "rustls=info"]
        .iter()
        .filter_map(|directive| directive.parse().ok())
        .fold(filter, EnvFilter::add_directive);
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(ember::log_writer::LossyStderr).init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => ember::run(*config).await?,
        Command::Plugin(command) => tokio::task::spawn_blocking(move || cli::run(command)).await??,
        Command::Dataset(args) => cli::dataset::run(args).await?,
        Command::Backup(args) => cli::backup::backup(args).await?,
        Command::Restore(args) => cli::backup::restore(args).await?,
        Command::Experiment(args) => {
            if !cli::experiment::run(args).await? {
                return Ok(std::process::ExitCode::FAILURE);
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
