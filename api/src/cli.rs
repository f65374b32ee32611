//! The `tether` command line.

use crate::config::Settings;
use crate::services::accounts::{self, SignUpFailure};
use crate::startup::{Application, StartupError, build_state, start_background};
use crate::{db, graphql, keys};
use clap::{Parser, Subcommand};
use secrecy::SecretString;

/// Tether: an always-current inventory of your organization's repositories.
#[derive(Parser, Debug)]
#[command(name = "tether", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// The API, the job workers and the scheduler in one process; migrates an SQLite database.
    Serve,
    /// The API alone (production: run migrations with `tether migrate` first).
    Api,
    /// Job workers and the scheduler, without the API.
    Worker,
    /// Applies database migrations.
    Migrate,
    /// Prints the GraphQL SDL (`tether print-schema > schema.graphql`).
    PrintSchema,
    /// Encryption key management.
    Keys {
        /// Key operation.
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The Tether GitHub App.
    GithubApp {
        /// GitHub App operation.
        #[command(subcommand)]
        command: GithubAppCommand,
    },
    /// Administration.
    Admin {
        /// Admin operation.
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// `tether keys …`
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Re-encrypts every credential under the newest key (adding one to the key file first).
    Rotate,
}

/// `tether github-app …`
#[derive(Subcommand, Debug)]
pub enum GithubAppCommand {
    /// Prints a GitHub App manifest for GitHub's manifest flow: the app's URLs derive from
    /// `TETHER_PUBLIC_URL`, its permissions are Contents and Metadata read.
    Manifest {
        /// The app's name on GitHub (unique on GitHub; shown to users who install it).
        #[arg(long, default_value = "Tether")]
        name: String,
    },
}

/// `tether admin …`
#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Creates a user who owns a new organization; the password is read from
    /// `TETHER_ADMIN_PASSWORD` or the first line of standard input.
    CreateUser {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// The organization to create.
        #[arg(long)]
        organization: String,
    },
}

/// A command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Startup failed.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// Database failed.
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Keys failed.
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    /// Reading input failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The input was refused.
    #[error("{0}")]
    Refused(String),
}

/// Runs a command.
pub async fn run(command: Command, settings: Settings) -> Result<(), CliError> {
    match command {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped().await?;
        }
        Command::Api => {
            Application::build_api_only(settings)
                .await?
                .run_until_stopped()
                .await?;
        }
        Command::Worker => {
            let state = build_state(&settings, settings.uses_sqlite()).await?;
            let shutdown = tokio_util::sync::CancellationToken::new();
            start_background(&settings, &state, &shutdown);
            tokio::signal::ctrl_c().await?;
            shutdown.cancel();
        }
        Command::Migrate => {
            let db = db::connect(&settings.database, 1).await?;
            db::migrate(&db).await?;
            println!("migrations applied");
        }
        Command::PrintSchema => print!("{}", graphql::sdl()),
        Command::GithubApp {
            command: GithubAppCommand::Manifest { name },
        } => {
            let manifest = crate::services::github_flow::manifest(&settings.github, &name)
                .map_err(|e| CliError::Refused(e.to_string()))?;
            println!("{manifest:#}");
        }
        Command::Keys {
            command: KeysCommand::Rotate,
        } => {
            let db = db::connect(&settings.database, 2).await?;
            db::migrate(&db).await?;
            let (ring, report) = keys::rotate(&db, &settings.keys).await?;
            println!(
                "re-encrypted {} credential(s) under key {} ({} already current)",
                report.resealed,
                ring.primary_id().as_str(),
                report.current
            );
        }
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    email,
                    organization,
                },
        } => {
            let password = match std::env::var("TETHER_ADMIN_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let state = build_state(&settings, true).await?;
            match accounts::create_account(
                &state.db,
                &email,
                SecretString::from(password),
                &organization,
            )
            .await
            {
                Ok(account) => println!(
                    "created {} owning {:?}",
                    account.user.email, account.organization.name
                ),
                Err(SignUpFailure::User(err)) => return Err(CliError::Refused(err.message)),
                Err(SignUpFailure::Db(err)) => return Err(err.into()),
            }
        }
    }
    Ok(())
}
