//! GraphiQL and the job dashboard in a real browser. GraphiQL, with every request off loopback
//! blocked, runs a query and a subscription with a bearer token. The dashboard: headless Chromium (Debian's, driven by playwright-core
//! in `tests/browser/`) signs in at `/jobs`, watches a connection's first discovery finish
//! live, clicks Sync now and sees the new run appear and finish without a reload, at desktop and
//! phone width, with no request leaving loopback and no CSP violation; it saves screenshots in
//! `tests/browser/artifacts/`. Needs `/usr/bin/chromium` and `npm ci --prefix tests/browser`
//! (`.ci/run` installs both).

use crate::helpers::{Backend, spawn_api_only, spawn_app_with};
use serde_json::json;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tests::fake::{FakeCodeHost, FakeConfig, Provider};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// `tests/browser/`, checked to hold what the scripts need.
fn browser_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "the browser tests need Debian's chromium: apt-get install chromium"
    );
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "the browser tests need playwright-core: npm ci --prefix tests/browser"
    );
    std::fs::create_dir_all(dir.join("artifacts")).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_runs_a_query_and_a_subscription_with_nothing_but_loopback() {
    let dir = browser_dir();
    let fake = FakeCodeHost::start(FakeConfig::default()).await.unwrap();
    let url = fake.url();
    let app = spawn_api_only(Backend::Sqlite, move |raw| raw.gitlab_url = url).await;
    let owner = app.owner().await;
    let created = app
        .graphql(
            Some(&owner.token),
            "mutation { createGitLabConnection(input: {groupPath: \"ghost/mygroup\", token: \"glpat-fake-token-0001\"}) { connection { id } } }",
            json!({}),
        )
        .await;
    let id = created["data"]["createGitLabConnection"]["connection"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"));
    let output = tokio::process::Command::new("node")
        .arg("graphiql.mjs")
        .current_dir(&dir)
        .env("TETHER_URL", &app.address)
        .env("TETHER_TOKEN", &owner.token)
        .env("CONNECTION_ID", id)
        .env("SCREENSHOT", dir.join("artifacts/graphiql.png"))
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs");
    let transcript = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the GraphiQL browser test failed:\n{transcript}\n--- tether's log ---\n{}",
        app.logs()
    );
    println!("{transcript}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_follows_discoveries_live_in_a_real_browser() {
    let browser_dir = browser_dir();
    // Slow enough that a run is seen running: 1,500 repositories in 15 pages of 150 ms.
    let fake = FakeCodeHost::start(FakeConfig {
        repos_per_scope: 1_500,
        latency: Duration::from_millis(150),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    fake.set_repos(Provider::Gitlab, "browser/group", 1_500);
    let url = fake.url();
    let app = spawn_app_with(Backend::Sqlite, move |raw| raw.gitlab_url = url).await;
    let owner = app.sign_up("dashboard@example.com", "Acme").await;
    let artifacts = browser_dir.join("artifacts");
    let mut browser = tokio::process::Command::new("node")
        .arg("jobs.mjs")
        .current_dir(&browser_dir)
        .env("TETHER_URL", &app.address)
        .env("TETHER_EMAIL", &owner.email)
        .env("TETHER_PASSWORD", "correct horse battery")
        .env("CONNECTION_NAME", "Browser group")
        .env("WAIT_FOR_CONNECTION", "1")
        .env("SCREENSHOT", artifacts.join("jobs.png"))
        .env("SCREENSHOT_MOBILE", artifacts.join("jobs-phone.png"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut stdin = browser.stdin.take().expect("piped stdin");
    let mut stdout = BufReader::new(browser.stdout.take().expect("piped stdout")).lines();
    let mut transcript = String::new();
    // The page is signed in and open before the connection exists: its whole first discovery
    // is seen live.
    loop {
        let line = tokio::time::timeout(Duration::from_secs(90), stdout.next_line())
            .await
            .expect("the browser signs in within 90 s")
            .expect("the browser's output reads");
        let Some(line) = line else {
            let output = browser.wait_with_output().await.expect("node ends");
            panic!(
                "the browser test ended before signing in:\n{transcript}{}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        transcript.push_str(&line);
        transcript.push('\n');
        if line == "SIGNED_IN" {
            break;
        }
    }
    let created = app
        .graphql(
            Some(&owner.token),
            "mutation { createGitLabConnection(input: {groupPath: \"browser/group\", token: \"glpat-fake-token-0001\", name: \"Browser group\"}) { connection { id } userErrors { message } } }",
            json!({}),
        )
        .await;
    assert!(
        created["data"]["createGitLabConnection"]["connection"]["id"].is_string(),
        "{created}"
    );
    stdin
        .write_all(b"go\n")
        .await
        .expect("the browser reads its go-ahead");
    while let Ok(Some(line)) = stdout.next_line().await {
        transcript.push_str(&line);
        transcript.push('\n');
    }
    let output = tokio::time::timeout(Duration::from_secs(300), browser.wait_with_output())
        .await
        .expect("the browser test ends within 5 minutes")
        .expect("node ends");
    transcript.push_str(&String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the browser test failed:\n{transcript}\n--- tether's log ---\n{}",
        app.logs()
    );
    println!("{transcript}");
    assert!(artifacts.join("jobs.png").exists(), "{transcript}");
}
