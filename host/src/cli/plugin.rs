//! `ember plugin …`: inspect a component and try an evaluator locally, under the same sandbox
//! and limits the server uses.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use ember_sandbox::{EvalInput, Limits, Sandbox, SandboxConfig, World};
use serde_json::{json, Value};

/// Plugin tools.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Print a component's world, WIT version, imports, exports, size and sha256 as JSON.
    Inspect {
        /// The component (`.wasm`).
        file: PathBuf,
    },
    /// Run an evaluator on one example and print its scores and the instructions used as JSON.
    Run(RunArgs),
    /// Register a component (a file, or an https URL pinned by --sha256) with a running server.
    Install(super::install::InstallArgs),
}

/// `ember plugin run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The evaluator component (`.wasm`).
    pub file: PathBuf,
    /// The example: `{"input": …, "output": …, "expected": …, "metadata": {…}}`.
    #[arg(long)]
    pub input: String,
    /// Configuration handed to the plugin (a JSON object).
    #[arg(long, default_value = "{}")]
    pub config: String,
    /// Instruction budget [default: 100M, or 5G for Python/JavaScript guests].
    #[arg(long)]
    pub fuel: Option<u64>,
    /// Memory limit in MiB [default: 64, or 256 for Python/JavaScript guests].
    #[arg(long)]
    pub memory_mib: Option<u64>,
    /// Deadline in milliseconds [default: 1000, or 5000 for Python/JavaScript guests].
    #[arg(long)]
    pub deadline_ms: Option<u64>,
}

/// Runs a plugin subcommand, printing JSON on stdout.
/// Call it on a blocking thread of a tokio runtime (`install` talks to the server).
pub fn run(command: PluginCommand) -> Result<()> {
    let sandbox = || Sandbox::new(SandboxConfig { cache_dir: Some(cache_dir()), ..SandboxConfig::default() });
    let output = match command {
        PluginCommand::Inspect { file } => inspect(&sandbox()?, &file)?,
        PluginCommand::Run(args) => evaluate(&sandbox()?, &args)?,
        PluginCommand::Install(args) => tokio::runtime::Handle::current().block_on(super::install::install(&args))?,
    };
    // A closed stdout (say, piped into `head`) ends the command quietly rather than panicking.
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{}", serde_json::to_string_pretty(&output)?) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn cache_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".ember").join("compiled")
}

fn read(file: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("reading {}", file.display()))
}

fn inspect(sandbox: &Sandbox, file: &PathBuf) -> Result<Value> {
    let wasm = read(file)?;
    // Loading goes through the compile cache and also runs `describe`; a component that cannot be
    // loaded is still inspected, with the reason.
    match sandbox.load(&wasm, Limits::interpreted()) {
        Ok(plugin) => Ok(serde_json::to_value(plugin.info())?),
        Err(err) => {
            let mut value = serde_json::to_value(sandbox.inspect(&wasm)?)?;
            value["descriptor_error"] = json!(err.to_string());
            Ok(value)
        }
    }
}

fn evaluate(sandbox: &Sandbox, args: &RunArgs) -> Result<Value> {
    let wasm = read(&args.file)?;
    let plugin = sandbox.load(&wasm, Limits::interpreted())?;
    if plugin.world() != World::Evaluator {
        bail!("{} is a {} plugin; `ember plugin run` runs evaluators", args.file.display(), plugin.world());
    }
    let mut limits = if plugin.info().imports_wasi { Limits::interpreted() } else { Limits::default() };
    if let Some(fuel) = args.fuel {
        limits.fuel = fuel;
    }
    if let Some(mib) = args.memory_mib {
        limits.memory_bytes = mib << 20;
    }
    if let Some(ms) = args.deadline_ms {
        limits.deadline = Duration::from_millis(ms);
    }
    serde_json::from_str::<serde_json::Map<String, Value>>(&args.config).context("--config must be a JSON object")?;
    let input = eval_input(&args.input)?;
    let plugin = plugin.with_limits(limits.clone()).with_config(args.config.as_str());
    let report = plugin.evaluate(&input);
    let mut output = json!({
        "plugin": plugin.info().descriptor.as_ref().map(|d| d.name.clone()),
        "instructions": report.instructions,
        "elapsed_ms": report.elapsed.as_secs_f64() * 1000.0,
        "limits": limits,
        "log": report.log,
    });
    match report.outcome {
        Ok(scores) => {
            let mut scores = serde_json::to_value(scores)?;
            // Metadata crosses the WIT boundary as JSON text; print it as JSON.
            for score in scores.as_array_mut().into_iter().flatten() {
                if let Some(parsed) = score["metadata"].as_str().and_then(|text| serde_json::from_str(text).ok()) {
                    score["metadata"] = parsed;
                }
            }
            output["scores"] = scores;
        }
        Err(err) => output["error"] = json!({ "kind": err.kind(), "message": err.to_string() }),
    }
    Ok(output)
}

/// Parses `--input`: each field may be any JSON value; it reaches the plugin as JSON text.
fn eval_input(text: &str) -> Result<EvalInput> {
    let value: Value = serde_json::from_str(text).context("--input must be JSON")?;
    let Value::Object(mut fields) = value else { bail!("--input must be a JSON object") };
    let mut take = |key: &str| fields.remove(key).map(|value| value.to_string());
    let input = take("input").unwrap_or_else(|| "null".into());
    let output = take("output").context("--input needs an \"output\"")?;
    let expected = take("expected");
    let metadata = take("metadata").unwrap_or_else(|| "{}".into());
    Ok(EvalInput { input, output, expected, metadata })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_fields_become_json_text() {
        let input = eval_input(r#"{"input": "q", "output": {"a": 1}, "expected": "x"}"#).unwrap();
        assert_eq!(input.input, r#""q""#);
        assert_eq!(input.output, r#"{"a":1}"#);
        assert_eq!(input.expected.as_deref(), Some(r#""x""#));
        assert_eq!(input.metadata, "{}");
        assert!(eval_input(r#"{"input": "q"}"#).is_err());
        assert!(eval_input("[1]").is_err());
    }
}
