//! `ember backup PATH` and `ember restore PATH`: an online, consistent copy of the SQLite
//! database (taken while the server runs), and putting one back (with the server stopped).

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Args;

/// Where the database is, as `ember serve` finds it.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// The file to write (backup) or read (restore).
    pub path: PathBuf,
    /// The server's working directory [default: ~/.ember].
    #[arg(long, env = "EMBER_WORKING_DIR")]
    pub working_dir: Option<PathBuf>,
    /// The server's database URL; only SQLite (`sqlite://…`) is backed up here.
    #[arg(long, env = "EMBER_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    /// The SQLite file the server uses.
    fn database(&self) -> anyhow::Result<PathBuf> {
        match self.database_url.as_deref() {
            Some(url) if url.starts_with("postgres") => {
                bail!("PostgreSQL is backed up with pg_dump and restored with pg_restore (see the README)")
            }
            Some(url) => {
                let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                Ok(Path::new(path.split('?').next().unwrap_or(path)).to_owned())
            }
            None => {
                let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
                Ok(self.working_dir.clone().unwrap_or_else(|| home.join(".ember")).join("ember.db"))
            }
        }
    }
}

/// `ember backup PATH`.
pub async fn backup(args: DatabaseArgs) -> anyhow::Result<()> {
    let database = args.database()?;
    let report = ember::store::backup::backup(&database, &args.path).await?;
    println!(
        "backed up {} to {}: {} spans, {:.1} MiB",
        database.display(),
        args.path.display(),
        report.spans,
        report.bytes as f64 / 1_048_576.0
    );
    Ok(())
}

/// `ember restore PATH`.
pub async fn restore(args: DatabaseArgs) -> anyhow::Result<()> {
    let database = args.database()?;
    let report = ember::store::backup::restore(&args.path, &database).await?;
    println!("restored {} into {}: {} spans", args.path.display(), database.display(), report.spans);
    Ok(())
}
