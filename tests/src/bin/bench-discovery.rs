//! Discovery benchmark: 100,000 repositories over 20 connections (5 per provider) on the fake
//! code host at 20 ms latency, against a real `tether serve` process, on SQLite (embedded) and
//! on PostgreSQL + Redis. Prints, per backend: wall time from the first create mutation to the
//! last repository visible through GraphQL, repositories per second, discovery requests against
//! their lower bound, the tether process's peak RSS, and the time from one
//! createGitLabConnection to its first repository visible. Then one GitLab group of `--big-group`
//! projects (20,000: past GitLab's 10,000-record count, so no totals), timed from its create
//! mutation to its last repository visible, with its listing requests against the pages.
//!
//! `cargo build --release && cargo run --release -p tests --bin bench-discovery`
//! (`--backends sqlite` or `--backends postgres` to run one; `--repos N` per connection).

use clap::Parser;
use entities::{Keyring, Provider as EntityProvider, SealContext, linked_account, user};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, Set};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tests::fake::{FakeCodeHost, FakeConfig, Provider};

#[derive(Parser, Debug)]
struct Args {
    /// Repositories per connection (20 connections).
    #[arg(long, default_value_t = 5000)]
    repos: usize,
    /// Fake provider latency per request, in milliseconds.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Backends to measure: sqlite, postgres.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// PostgreSQL server (a fresh database is created on it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    /// Redis for the PostgreSQL run.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// tether's log filter (`TETHER_LOG`); its log is kept in the run's directory.
    #[arg(long, default_value = "warn")]
    log: String,
    /// Keep each run's directory (tether.log, tether.db) and print where it is.
    #[arg(long)]
    keep: bool,
    /// Give up on a backend after this many seconds (and print each connection's state).
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    /// Projects in the one big GitLab group measured after the rest (past GitLab's 10,000-record
    /// count, so no totals); 0 skips it.
    #[arg(long, default_value_t = 20_000)]
    big_group: usize,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

const PER_PROVIDER: usize = 5;

struct Report {
    backend: String,
    repositories: u64,
    wall: Duration,
    first_visible: Duration,
    discovery_requests: u64,
    lower_bound: u64,
    refresh_requests: u64,
    peak_rss_kib: u64,
    by_endpoint: BTreeMap<String, u64>,
    big_group: Option<BigGroup>,
}

/// One GitLab group too big for GitLab to count.
struct BigGroup {
    repositories: usize,
    wall: Duration,
    /// Listing requests (`gitlab.projects`).
    pages_requested: u64,
    /// Pages the data fills.
    pages: u64,
}

fn tether_binary() -> Result<std::path::PathBuf, Error> {
    let here = std::env::current_exe()?;
    let path = here.with_file_name("tether");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: run `cargo build --release` first",
            path.display()
        )
        .into())
    }
}

fn free_port() -> Result<u16, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn app_key() -> Result<String, Error> {
    let out = Command::new("openssl").args(["genrsa", "2048"]).output()?;
    if !out.status.success() {
        return Err("openssl genrsa failed".into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

struct Graphql {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl Graphql {
    async fn run(&self, query: &str, variables: Value) -> Result<Value, Error> {
        let mut request = self
            .client
            .post(&self.url)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let body: Value = request.send().await?.json().await?;
        if body.get("errors").is_some() {
            return Err(format!("GraphQL error: {body}").into());
        }
        Ok(body)
    }

    async fn total(&self, connection: Option<&str>) -> Result<u64, Error> {
        let body = self
            .run(
                "query($c: ID) { repositories(first: 1, connectionId: $c) { totalCount } }",
                json!({"c": connection}),
            )
            .await?;
        Ok(body["data"]["repositories"]["totalCount"]
            .as_u64()
            .unwrap_or(0))
    }
}

async fn run_backend(args: &Args, backend: &str, fake: &FakeCodeHost) -> Result<Report, Error> {
    let dir = std::env::temp_dir().join(format!("tether-bench-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let keys = Keyring::generate_entry(&entities::KeyId::parse("bench")?)
        .expose_secret()
        .to_owned();
    let port = free_port()?;
    let mut command = Command::new(tether_binary()?);
    command
        .arg("serve")
        .current_dir(&dir)
        .env("TETHER_LISTEN", format!("127.0.0.1:{port}"))
        .env("TETHER_ENCRYPTION_KEYS", &keys)
        .env("TETHER_GITLAB_URL", fake.url())
        .env("TETHER_BITBUCKET_API_URL", fake.url())
        .env("TETHER_AZURE_DEVOPS_URL", fake.url())
        .env("TETHER_GITHUB_API_URL", fake.url())
        .env("TETHER_GITHUB_APP_ID", "1")
        .env("TETHER_GITHUB_APP_PRIVATE_KEY", app_key()?)
        .env("TETHER_SCHEDULER_INTERVAL_SECS", "1")
        .env("TETHER_LOG", &args.log)
        .env("TETHER_LOG_FORMAT", "json")
        .stdout(std::fs::File::create(dir.join("tether.log"))?)
        .stderr(Stdio::inherit());
    let database_url;
    let mut pg_database = None;
    let mut redis_namespace = None;
    if backend == "postgres" {
        let name = format!("tether_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(format!("{}/postgres", args.postgres)).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        database_url = format!("{}/{name}", args.postgres);
        pg_database = Some(name);
        // Production mode migrates explicitly.
        let status = Command::new(tether_binary()?)
            .arg("migrate")
            .env("TETHER_DATABASE_URL", &database_url)
            .env("TETHER_REDIS_URL", &args.redis)
            .env("TETHER_ENCRYPTION_KEYS", &keys)
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            return Err("tether migrate failed".into());
        }
        let namespace = format!("bench{}", uuid::Uuid::new_v4().simple());
        command
            .env("TETHER_REDIS_URL", &args.redis)
            .env("TETHER_QUEUE_NAMESPACE", &namespace);
        redis_namespace = Some(namespace);
    } else {
        database_url = format!("sqlite://{}", dir.join("tether.db").display());
    }
    command.env("TETHER_DATABASE_URL", &database_url);
    let mut child: Child = command.spawn()?;
    let pid = child.id();
    let result = measure(args, backend, fake, port, &database_url, &keys, pid).await;
    let _ = child.kill();
    let _ = child.wait();
    // What tether logged (warnings and errors only) is the first thing to read when a run is
    // slow or fails.
    let log = std::fs::read_to_string(dir.join("tether.log")).unwrap_or_default();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"WARN\"") || l.contains("\"ERROR\""))
        .collect();
    if !lines.is_empty() {
        eprintln!(
            "tether logged {} warnings or errors; the last ones:",
            lines.len()
        );
        for line in &lines[lines.len().saturating_sub(15)..] {
            eprintln!("  {line}");
        }
    }
    if let Some(namespace) = redis_namespace {
        tests::redis_cleanup::forget_namespace(&args.redis, &namespace).await;
    }
    if let Some(name) = pg_database {
        let admin = Database::connect(format!("{}/postgres", args.postgres)).await?;
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
    }
    if args.keep {
        eprintln!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    args: &Args,
    backend: &str,
    fake: &FakeCodeHost,
    port: u16,
    database_url: &str,
    keys: &str,
    pid: u32,
) -> Result<Report, Error> {
    let client = reqwest::Client::new();
    let ready = Instant::now();
    while client
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .map(|r| r.status().is_success())
        .ok()
        != Some(true)
    {
        if ready.elapsed() > Duration::from_secs(30) {
            return Err("tether did not become ready".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut api = Graphql {
        client: client.clone(),
        url: format!("http://127.0.0.1:{port}/graphql"),
        token: None,
    };
    let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
    let signed = api
        .run("mutation($e: String!) { signUp(input: {email: $e, password: \"correct horse battery\", organizationName: \"Bench\"}) { token } }", json!({"e": email}))
        .await?;
    api.token = signed["data"]["signUp"]["token"]
        .as_str()
        .map(str::to_owned);

    // GitHub connections need a linked account; the OAuth flow is another issue, so seed one.
    let db = Database::connect(database_url).await?;
    let owner = user::Entity::find_by_email(&email)
        .one(&db)
        .await?
        .ok_or("no user")?;
    let ring = Keyring::parse(&SecretString::from(keys.to_owned()))?;
    let id = entities::new_id();
    let sealed = ring.seal(
        &SecretString::from("gho_benchUserToken"),
        SealContext::new(linked_account::SEAL_TABLE, id, linked_account::SEAL_COLUMN),
    )?;
    linked_account::ActiveModel {
        id: Set(id),
        user_id: Set(owner.id),
        provider: Set(EntityProvider::Github),
        external_id: Set("1".into()),
        login: Set("bench".into()),
        access_token: Set(Some(sealed)),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&db)
    .await?;
    db.close().await?;

    fake.reset_stats();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    // The first GitLab connection, and how soon its first repository is visible.
    let first = api
        .run(
            "mutation($g: String!) { createGitLabConnection(input: {groupPath: $g, token: \"glpat-bench\"}) { connection { id } userErrors { message } } }",
            json!({"g": format!("bench-{run}/g0")}),
        )
        .await?;
    let first_id = first["data"]["createGitLabConnection"]["connection"]["id"]
        .as_str()
        .ok_or_else(|| format!("create failed: {first}"))?
        .to_owned();
    let first_visible = {
        let api = Graphql {
            client: client.clone(),
            url: api.url.clone(),
            token: api.token.clone(),
        };
        tokio::spawn(async move {
            loop {
                if api.total(Some(&first_id)).await.unwrap_or(0) > 0 {
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    // The other 19 are created concurrently, as a script or a busy team would.
    let mut creations = Vec::new();
    for i in 0..PER_PROVIDER {
        if i > 0 {
            creations.push((
                "createGitLabConnection",
                json!({"groupPath": format!("bench-{run}/g{i}"), "token": "glpat-bench"}),
            ));
        }
        creations.push((
            "createBitbucketConnection",
            json!({"workspaceId": format!("bench{i}-{run}"), "token": "bb-bench-token"}),
        ));
        creations.push(("createAzureDevOpsConnection", json!({"organizationUrl": format!("https://dev.azure.com/bench{i}{}", &run[..8]), "token": "azure-bench-pat"})));
        let installation = 1000 + i;
        fake.set_repos(Provider::Github, &installation.to_string(), args.repos);
        creations.push((
            "createGitHubConnection",
            json!({"installationId": installation.to_string()}),
        ));
    }
    for result in futures::future::join_all(
        creations
            .into_iter()
            .map(|(m, input)| create(&api, m, input)),
    )
    .await
    {
        result?;
    }
    let expected = (args.repos * PER_PROVIDER * 4) as u64;
    let mut visible = 0;
    while visible < expected {
        if started.elapsed() > Duration::from_secs(args.timeout_secs) {
            explain_shortfall(database_url).await;
            return Err(format!(
                "only {visible} of {expected} repositories after {} s",
                args.timeout_secs
            )
            .into());
        }
        // Every 100 ms: counting 100,000 rows costs PostgreSQL ~50 ms, so polling faster would
        // mostly measure the poll.
        tokio::time::sleep(Duration::from_millis(100)).await;
        visible = api.total(None).await?;
    }
    let wall = started.elapsed();
    let first_visible = first_visible.await?;
    timeline(database_url, started_at).await;
    let stats = fake.stats();
    let big_group = if args.big_group > 0 {
        Some(big_group(&api, fake, args, &run).await?)
    } else {
        None
    };
    let is_refresh = |endpoint: &str| endpoint.ends_with(".branch") || endpoint.ends_with(".refs");
    let discovery_requests: u64 = stats
        .by_endpoint
        .iter()
        .filter(|(e, _)| !is_refresh(e))
        .map(|(_, n)| n)
        .sum();
    let refresh_requests: u64 = stats
        .by_endpoint
        .iter()
        .filter(|(e, _)| is_refresh(e))
        .map(|(_, n)| n)
        .sum();
    // One request per 100 repositories for GitLab, Bitbucket and GitHub (Azure DevOps lists a
    // whole organization in one answer), plus each provider's fixed costs per connection: GitLab
    // token + group + membership, Bitbucket's projects and repositories probes, Azure's
    // connectionData + projects + repositories probe and its one listing, GitHub's installation
    // + token mint.
    let pages = (args.repos as u64).div_ceil(100) * (PER_PROVIDER as u64) * 3;
    let fixed = (3 + 2 + 4 + 2) * PER_PROVIDER as u64;
    Ok(Report {
        backend: backend.to_owned(),
        repositories: visible,
        wall,
        first_visible,
        discovery_requests,
        lower_bound: pages + fixed,
        refresh_requests,
        peak_rss_kib: peak_rss_kib(pid),
        by_endpoint: stats.by_endpoint,
        big_group,
    })
}

/// Connects one GitLab group of `--big-group` projects once the fake host is quiet (the metadata
/// refreshes of the main part done), and times it from the create mutation to its last
/// repository visible.
async fn big_group(
    api: &Graphql,
    fake: &FakeCodeHost,
    args: &Args,
    run: &str,
) -> Result<BigGroup, Error> {
    let mut served = fake.stats().requests;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = fake.stats().requests;
        if now == served {
            break;
        }
        served = now;
    }
    let group = format!("bench-{run}/big");
    fake.set_repos(Provider::Gitlab, &group, args.big_group);
    let projects = |stats: &tests::fake::Stats| {
        stats
            .by_endpoint
            .get("gitlab.projects")
            .copied()
            .unwrap_or(0)
    };
    let before = projects(&fake.stats());
    let started = Instant::now();
    let body = api
        .run(
            "mutation($g: String!) { createGitLabConnection(input: {groupPath: $g, token: \"glpat-bench-big\"}) { connection { id } userErrors { message } } }",
            json!({"g": group}),
        )
        .await?;
    let id = body["data"]["createGitLabConnection"]["connection"]["id"]
        .as_str()
        .ok_or_else(|| format!("create failed: {body}"))?
        .to_owned();
    while api.total(Some(&id)).await? < args.big_group as u64 {
        if started.elapsed() > Duration::from_secs(args.timeout_secs) {
            return Err("the big group's repositories never all appeared".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(BigGroup {
        repositories: args.big_group,
        wall: started.elapsed(),
        pages_requested: projects(&fake.stats()) - before,
        pages: (args.big_group as u64).div_ceil(100),
    })
}

/// Prints, per provider, when its discovery runs started and finished, counted from the
/// first create mutation: where the wall time goes.
async fn timeline(database_url: &str, started_at: chrono::DateTime<chrono::Utc>) {
    use entities::{connection, discovery_run};
    use sea_orm::EntityTrait;
    let Ok(db) = Database::connect(database_url).await else {
        return;
    };
    let (Ok(connections), Ok(runs)) = (
        connection::Entity::find().all(&db).await,
        discovery_run::Entity::find().all(&db).await,
    ) else {
        return;
    };
    let offset =
        |t: chrono::DateTime<chrono::Utc>| (t - started_at).num_milliseconds() as f64 / 1000.0;
    let mut by_provider: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for run in &runs {
        let Some(conn) = connections.iter().find(|c| Some(c.id) == run.connection_id) else {
            continue;
        };
        let Some(finished) = run.finished_at else {
            continue;
        };
        by_provider
            .entry(format!("{:?}", conn.provider))
            .or_default()
            .push((offset(run.started_at), offset(finished)));
    }
    println!(
        "discovery runs (s after the first create): provider runs first-start last-start last-finish longest"
    );
    for (provider, spans) in by_provider {
        let fold = |f: fn(f64, f64) -> f64, init: f64, pick: fn(&(f64, f64)) -> f64| {
            spans.iter().map(pick).fold(init, f)
        };
        println!(
            "  {provider:<12} {:>3} {:>6.2} {:>6.2} {:>6.2} {:>6.2}",
            spans.len(),
            fold(f64::min, f64::MAX, |s| s.0),
            fold(f64::max, f64::MIN, |s| s.0),
            fold(f64::max, f64::MIN, |s| s.1),
            fold(f64::max, 0.0, |s| s.1 - s.0),
        );
    }
}

/// Prints, per connection, what it holds and how its runs ended: where a stall comes from.
async fn explain_shortfall(database_url: &str) {
    let Ok(db) = Database::connect(database_url).await else {
        return;
    };
    let sql = "SELECT c.provider, c.status, coalesce(c.status_message, ''), \
               (SELECT count(*) FROM repository_connections l WHERE l.connection_id = c.id AND l.listed), \
               coalesce((SELECT string_agg(d.outcome || ' ' || coalesce(d.issues::text, ''), ' | ') \
                         FROM discovery_runs d WHERE d.connection_id = c.id), '') \
               FROM connections c ORDER BY 4";
    let sql = if database_url.starts_with("sqlite") {
        sql.replace("string_agg", "group_concat")
            .replace("::text", "")
    } else {
        sql.to_owned()
    };
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await;
    match rows {
        Ok(rows) => {
            for row in rows {
                let cell = |i: usize| {
                    row.try_get_by_index::<String>(i)
                        .or_else(|_| row.try_get_by_index::<i64>(i).map(|n| n.to_string()))
                        .unwrap_or_default()
                };
                eprintln!(
                    "  {} {} {} repos={} runs: {}",
                    cell(0),
                    cell(1),
                    cell(2),
                    cell(3),
                    cell(4)
                );
            }
        }
        Err(err) => eprintln!("  could not read connections: {err}"),
    }
}

async fn create(api: &Graphql, mutation: &str, input: Value) -> Result<(), Error> {
    let input_type = format!("{}Input!", mutation[..1].to_uppercase() + &mutation[1..]);
    let query = format!(
        "mutation($input: {input_type}) {{ {mutation}(input: $input) {{ connection {{ id }} userErrors {{ code message }} }} }}"
    );
    let body = api.run(&query, json!({"input": input})).await?;
    if body["data"][mutation]["connection"].is_null() {
        return Err(format!("{mutation} failed: {body}").into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = Args::parse();
    let fake = FakeCodeHost::start(FakeConfig {
        repos_per_scope: args.repos,
        latency: Duration::from_millis(args.latency_ms),
        listen: None,
    })
    .await?;
    println!(
        "bench-discovery: {} repositories over {} connections ({} per provider), fake code host latency {} ms",
        args.repos * PER_PROVIDER * 4,
        PER_PROVIDER * 4,
        PER_PROVIDER,
        args.latency_ms
    );
    for backend in &args.backends {
        let report = run_backend(&args, backend, &fake).await?;
        let rate = report.repositories as f64 / report.wall.as_secs_f64();
        let over = 100.0 * (report.discovery_requests as f64 / report.lower_bound as f64 - 1.0);
        println!("\n== {} ==", report.backend);
        println!(
            "repositories visible through GraphQL : {}",
            report.repositories
        );
        println!(
            "wall time, create → last visible     : {:.2} s",
            report.wall.as_secs_f64()
        );
        println!("repositories per second              : {rate:.0}");
        println!(
            "discovery API requests               : {} (lower bound {}, {over:+.1}%)",
            report.discovery_requests, report.lower_bound
        );
        println!(
            "metadata-refresh requests meanwhile  : {}",
            report.refresh_requests
        );
        println!(
            "tether peak RSS                      : {:.1} MB",
            report.peak_rss_kib as f64 / 1024.0
        );
        println!(
            "createGitLabConnection → first repo  : {} ms",
            report.first_visible.as_millis()
        );
        println!(
            "requests by endpoint                 : {:?}",
            report.by_endpoint
        );
        if let Some(big) = &report.big_group {
            let over = 100.0 * (big.pages_requested as f64 / big.pages as f64 - 1.0);
            println!(
                "one GitLab group of {} (no totals)  : {:.2} s create → last visible; {} listing requests for {} pages ({over:+.1}%, {} wasted)",
                big.repositories,
                big.wall.as_secs_f64(),
                big.pages_requested,
                big.pages,
                big.pages_requested.saturating_sub(big.pages)
            );
        }
    }
    Ok(())
}
