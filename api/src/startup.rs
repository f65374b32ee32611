//! Builds the application from settings: database, keys, providers, schema and HTTP server on
//! its own listener (port 0 in tests).

use crate::auth::{LoginThrottle, password};
use crate::config::Settings;
use crate::graphql;
use crate::http::github;
use crate::http::graphql::{Endpoint, get, method_not_allowed, post};
use crate::http::health::{healthz, readyz};
use crate::http::tracing_span::RedactedRootSpan;
use crate::state::AppState;
use crate::{db, keys};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use jobs::discovery::{Discovery, SchedulePolicy};
use jobs::http::{FetchPolicy, LocalBudget, RateBudget, RedisBudget};
use jobs::queue::Queues;
use jobs::scheduler::Scheduler;
use jobs::{HttpClients, Providers};
use std::net::TcpListener;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;

/// Why the application could not start, naming the part that failed.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Database connection or migration failed.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Keys could not be loaded.
    #[error("encryption keys: {0}")]
    Keys(#[from] keys::KeyError),
    /// The outbound HTTP clients could not be built (TLS backend initialisation).
    #[error("outbound HTTP client: {0}")]
    HttpClient(#[from] jobs::http::ClientError),
    /// The job queues could not be opened.
    #[error(transparent)]
    Queue(#[from] jobs::queue::QueueError),
    /// The rate-limit budgets could not reach Redis.
    #[error("rate-limit budgets in Redis: {0}")]
    RateBudget(#[source] redis::RedisError),
    /// The live-event bus could not be set up on Redis.
    #[error("live events in Redis: {0}")]
    Events(#[source] redis::RedisError),
    /// The API's listener could not bind (or report its address).
    #[error("listener on {address}: {source}")]
    Listener {
        /// The address it tried.
        address: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Opens the database (migrating it when `migrate`), loads the keys and builds shared state.
pub async fn build_state(settings: &Settings, migrate: bool) -> Result<AppState, StartupError> {
    let db = db::connect(&settings.database, settings.database_max_connections).await?;
    if migrate {
        db::migrate(&db).await?;
    }
    let keyring = keys::load(&settings.keys)?;
    let clients = HttpClients::new(settings.network)?;
    let keyring = Arc::new(keyring);
    let missing = settings.github.missing();
    if !missing.is_empty() {
        tracing::info!(
            missing = %missing.join(", "),
            "GitHub is not fully configured: connecting GitHub organizations needs these settings"
        );
    }
    let github_app = settings.github.app.clone();
    let queues = match &settings.redis_url {
        Some(url) => {
            Queues::redis(
                url.as_str(),
                &settings.jobs.namespace,
                settings.jobs.concurrency,
            )
            .await?
        }
        None => Queues::sqlite(&db, &settings.jobs.namespace, settings.jobs.concurrency).await?,
    };
    // Rate-limit waits are shared by every worker: through Redis in production.
    let budget: Arc<dyn RateBudget> = match &settings.redis_url {
        Some(url) => Arc::new(
            RedisBudget::connect(
                url.as_str(),
                &format!("{}-ratelimit", settings.jobs.namespace),
            )
            .await
            .map_err(StartupError::RateBudget)?,
        ),
        None => Arc::new(LocalBudget::default()),
    };
    let providers = Providers::new(clients, settings.endpoints.clone(), github_app, budget);
    // Live events cross processes through Redis: a worker's runs reach every API's subscribers.
    let events = match &settings.redis_url {
        Some(url) => {
            jobs::EventBus::redis(url.as_str(), &format!("{}-events", settings.jobs.namespace))
                .map_err(StartupError::Events)?
        }
        None => jobs::EventBus::in_process(),
    };
    let discovery = Discovery {
        db: db.clone(),
        keyring: keyring.clone(),
        providers: providers.clone(),
        fetch: FetchPolicy {
            max_wait: settings.jobs.max_rate_limit_wait,
            max_body: settings.jobs.max_provider_body,
            ..FetchPolicy::default()
        },
        schedule: SchedulePolicy::default(),
        deadline: settings.jobs.discovery_deadline,
        activity: jobs::discovery::Activity::default(),
        events: events.clone(),
    };
    Ok(AppState {
        db,
        keyring,
        providers,
        throttle: Arc::new(LoginThrottle::default()),
        discovery,
        queues,
        github: Arc::new(settings.github.clone()),
        events,
    })
}

/// Starts the job workers and the scheduler in this process until `shutdown`.
pub fn start_background(settings: &Settings, state: &AppState, shutdown: &CancellationToken) {
    state.queues.start_workers(
        state.discovery.clone(),
        settings.jobs.concurrency,
        shutdown.clone(),
    );
    Scheduler {
        db: state.db.clone(),
        queues: state.queues.clone(),
        every: settings.jobs.scheduler_every,
    }
    .start(shutdown.clone());
    tracing::info!(
        concurrency = settings.jobs.concurrency,
        namespace = %settings.jobs.namespace,
        "job workers and scheduler started"
    );
}

/// A bound, ready-to-run Tether API.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    shutdown: CancellationToken,
}

impl Application {
    /// `tether serve`: the API, the job workers and the scheduler in one process. An SQLite
    /// database is migrated on the way up.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let state = build_state(&settings, settings.uses_sqlite()).await?;
        let app = Self::with_state(settings.clone(), state)?;
        start_background(&settings, &app.state, &app.shutdown);
        Ok(app)
    }

    /// The API alone (`tether api`): jobs are enqueued for `tether worker` processes.
    pub async fn build_api_only(settings: Settings) -> Result<Self, StartupError> {
        let state = build_state(&settings, settings.uses_sqlite()).await?;
        Self::with_state(settings, state)
    }

    /// Binds the HTTP server over prepared state.
    pub fn with_state(settings: Settings, state: AppState) -> Result<Self, StartupError> {
        tokio::task::spawn_blocking(password::warm_up);
        let address = settings.listen;
        let listener_error = |source| StartupError::Listener { address, source };
        let listener = TcpListener::bind(address).map_err(listener_error)?;
        let port = listener.local_addr().map_err(listener_error)?.port();
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
                .route(
                    "/graphql/assets/{name}",
                    web::get().to(crate::http::assets::graphiql_asset),
                )
                .route("/jobs", web::get().to(crate::http::dashboard::page))
                .route("/jobs/login", web::post().to(crate::http::dashboard::login))
                .route(
                    "/jobs/logout",
                    web::post().to(crate::http::dashboard::logout),
                )
                .route(
                    "/jobs/assets/{name}",
                    web::get().to(crate::http::assets::dashboard_asset),
                )
                .route("/auth/github/link", web::get().to(github::link))
                .route("/auth/github/callback", web::get().to(github::callback))
                .route("/github/setup", web::get().to(github::setup))
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route(
                    "/webhooks/github",
                    web::post().to(crate::http::webhooks::github),
                )
        })
        .listen(listener)
        .map_err(listener_error)?
        .run();
        tracing::info!(port, "Tether API listening; GraphQL at /graphql");
        Ok(Self {
            port,
            server,
            state,
            shutdown: CancellationToken::new(),
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

    /// Serves until the process is stopped, then stops the workers.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.shutdown.cancel();
        result
    }
}
