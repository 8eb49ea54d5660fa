//! The `ember` command.

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
    Serve(ember::ServeConfig),
    /// Inspect plugin components and try evaluators locally.
    #[command(subcommand)]
    Plugin(ember::cli::PluginCommand),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => ember::run(config).await?,
        Command::Plugin(command) => tokio::task::spawn_blocking(move || ember::cli::run(command)).await??,
    }
    Ok(())
}
