//! Builds the application from settings: database, keys, providers, schema and HTTP server on
//! its own listener (port 0 in tests).

use crate::auth::{LoginThrottle, password};
use crate::config::Settings;
use crate::graphql;
use crate::http::graphql::{Endpoint, get, method_not_allowed, post};
use crate::http::health::{healthz, readyz};
use crate::http::tracing_span::RedactedRootSpan;
use crate::state::AppState;
use crate::{db, keys};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use jobs::budget::LocalBudget;
use jobs::discovery::{Discovery, SchedulePolicy};
use jobs::fetch::FetchPolicy;
use jobs::{HttpClients, Providers};
use std::net::TcpListener;
use std::sync::Arc;
use tracing_actix_web::TracingLogger;

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Database connection or migration failed.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Keys could not be loaded.
    #[error("encryption keys: {0}")]
    Keys(#[from] keys::KeyError),
    /// The listener could not bind, or the HTTP client could not be built.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The outbound HTTP client could not be built.
    #[error("http client: {0}")]
    Http(#[from] jobs::net::ClientError),
}

/// Opens the database (migrating in embedded mode), loads the keys and builds shared state.
pub async fn build_state(settings: &Settings, migrate: bool) -> Result<AppState, StartupError> {
    let db = db::connect(&settings.database, settings.database_max_connections).await?;
    if migrate {
        db::migrate(&db).await?;
    }
    let keyring = keys::load(&settings.keys)?;
    let clients = HttpClients::new(settings.network)?;
    let keyring = Arc::new(keyring);
    let providers = Providers::new(clients, settings.endpoints.clone());
    let discovery = Discovery {
        db: db.clone(),
        keyring: keyring.clone(),
        providers: providers.clone(),
        endpoints: settings.endpoints.clone(),
        budget: Arc::new(LocalBudget::default()),
        fetch: FetchPolicy::default(),
        schedule: SchedulePolicy::default(),
    };
    Ok(AppState {
        db,
        keyring,
        providers,
        endpoints: settings.endpoints.clone(),
        throttle: Arc::new(LoginThrottle::default()),
        discovery,
    })
}

/// A bound, ready-to-run Tether API.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl Application {
    /// Builds everything and binds `settings.listen`. Embedded mode (no Redis) migrates itself.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let state = build_state(&settings, settings.is_embedded()).await?;
        Self::with_state(settings, state)
    }

    /// Binds the HTTP server over prepared state.
    pub fn with_state(settings: Settings, state: AppState) -> Result<Self, StartupError> {
        tokio::task::spawn_blocking(password::warm_up);
        let listener = TcpListener::bind(settings.listen)?;
        let port = listener.local_addr()?.port();
        let endpoint = web::Data::new(Endpoint {
            schema: graphql::build(state.clone(), &settings.graphql),
            limits: settings.graphql,
        });
        let shared = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::<RedactedRootSpan>::new())
                .app_data(endpoint.clone())
                .app_data(shared.clone())
                .service(
                    web::resource("/graphql")
                        .route(web::get().to(get))
                        .route(web::post().to(post))
                        .default_service(web::to(method_not_allowed)),
                )
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
        })
        .listen(listener)?
        .run();
        tracing::info!(port, "Tether API listening; GraphQL at /graphql");
        Ok(Self {
            port,
            server,
            state,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests use its database and keys).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until the process is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
