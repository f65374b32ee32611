//! `tether`: loads configuration, sets up logging and dispatches.

use api::cli::{Cli, run};
use api::config::Settings;
use clap::Parser;

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
