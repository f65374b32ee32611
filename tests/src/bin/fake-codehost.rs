//! Serves the fake code host until killed: `fake-codehost --repos 5000 --latency-ms 20`.

use clap::Parser;
use std::net::SocketAddr;
use std::time::Duration;
use tests::fake::{FakeCodeHost, FakeConfig};

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
    println!("{}", host.url());
    tokio::signal::ctrl_c().await?;
    host.stop().await;
    Ok(())
}
