//! Serves the fake code host until killed: `fake-codehost --repos 5000 --latency-ms 20`, or for
//! trying Tether's GitHub flow by hand: `fake-codehost --tether-url http://localhost:8080`.

use clap::Parser;
use std::net::SocketAddr;
use std::time::Duration;
use tests::fake::{FakeCodeHost, FakeConfig, GithubApp};

/// GitHub, GitLab, Bitbucket Cloud and Azure DevOps on one port, with synthetic repositories.
#[derive(Parser)]
#[command(name = "fake-codehost")]
struct Args {
    /// Repositories every scope (group, workspace, organization, installation) starts with.
    #[arg(long, default_value_t = 1000)]
    repos: usize,
    /// Delay before every provider response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9900")]
    listen: SocketAddr,
    /// Tether's public URL: the GitHub App's setup URL is `{it}/github/setup` and its webhook
    /// URL `{it}/webhooks/github` (without it, the install flow has nowhere to return and
    /// webhooks are not sent).
    #[arg(long)]
    tether_url: Option<String>,
    /// The GitHub App's URL name (`/apps/{slug}/installations/new`).
    #[arg(long, default_value = "tether")]
    github_app_slug: String,
    /// The GitHub App's OAuth client id.
    #[arg(long, default_value = "Iv1.fake")]
    github_client_id: String,
    /// The GitHub App's OAuth client secret.
    #[arg(long, default_value = "fake-client-secret")]
    github_client_secret: String,
    /// The secret webhook deliveries are signed with.
    #[arg(long, default_value = "fake-webhook-secret")]
    github_webhook_secret: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let host = FakeCodeHost::start(FakeConfig {
        repos_per_scope: args.repos,
        latency: Duration::from_millis(args.latency_ms),
        listen: Some(args.listen),
    })
    .await?;
    let base = match &args.tether_url {
        Some(url) => GithubApp::for_tether(url),
        None => GithubApp::default(),
    };
    host.set_github_app(GithubApp {
        slug: args.github_app_slug,
        client_id: args.github_client_id,
        client_secret: args.github_client_secret,
        webhook_secret: args.github_webhook_secret,
        ..base
    });
    println!("{}", host.url());
    tokio::signal::ctrl_c().await?;
    host.stop().await;
    Ok(())
}
