//! `tether`: loads configuration, sets up logging and dispatches.

use api::cli::{Cli, run};
use api::config::Settings;
use clap::Parser;

/// jemalloc: glibc's allocator spent a fifth of a discovery's CPU in malloc and free, and its
/// per-thread arenas kept what was freed (bench-discovery on SQLite peaked at 174-188 MB RSS).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("tether: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    api::telemetry::init(&settings.log, std::io::stdout);
    match run(cli.command, settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "tether failed");
            eprintln!("tether: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
