//! The fake code host: GitHub, GitLab, Bitbucket Cloud and Azure DevOps on one port, with
//! synthetic repositories, latency, rate-limit headers, faults on demand and an admin API.
//!
//! Every scope (GitLab group, Bitbucket workspace, Azure DevOps organization, GitHub
//! installation) exists on first use with `repos_per_scope` repositories whose ids derive from
//! the scope and their number, so two runs see the same ids.

mod admin;
mod azure;
mod bitbucket;
mod github;
mod gitlab;
mod http;
mod server;
mod state;

pub use state::{Fault, Provider, REPOS_PER_AZURE_PROJECT, RepoInfo, Stats, Target};

use state::State;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How a fake code host starts.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// Repositories every scope has until the admin API changes it.
    pub repos_per_scope: usize,
    /// Delay before every provider response.
    pub latency: Duration,
    /// Address to bind; `127.0.0.1:0` (a free port) when `None`.
    pub listen: Option<SocketAddr>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            repos_per_scope: 100,
            latency: Duration::ZERO,
            listen: None,
        }
    }
}

/// A running fake code host; stops when dropped.
pub struct FakeCodeHost {
    state: Arc<Mutex<State>>,
    address: SocketAddr,
    handle: actix_web::dev::ServerHandle,
}

impl FakeCodeHost {
    /// Binds the listener and serves on a spawned task (call inside a Tokio runtime).
    pub async fn start(config: FakeConfig) -> std::io::Result<FakeCodeHost> {
        let listen = config
            .listen
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let listener = TcpListener::bind(listen)?;
        let address = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::new(config.repos_per_scope)));
        let server = server::serve(listener, state.clone(), config.latency)?;
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            state,
            address,
            handle,
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:9900` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets how many repositories a scope has (removes from, or adds to, the end).
    pub fn set_repos(&self, provider: Provider, scope: &str, repos: usize) {
        self.state().set_repos(provider, scope, repos);
    }

    /// The scope's repositories in listing order (creates the scope if needed).
    pub fn repos(&self, provider: Provider, scope: &str) -> Vec<RepoInfo> {
        let mut state = self.state();
        let scope = state.scope(provider, scope);
        scope
            .repos
            .iter()
            .map(|r| RepoInfo {
                id: r.id,
                uuid: r.uuid,
                name: r.name.clone(),
                scope: scope.name.clone(),
                head: r.sha(),
            })
            .collect()
    }

    /// Adds a repository, named `repo-NNNNN` unless `name` is given.
    pub fn add(&self, provider: Provider, scope: &str, name: Option<&str>) -> RepoInfo {
        self.state().add(provider, scope, name)
    }

    /// Renames a repository; its ids stay.
    pub fn rename(
        &self,
        provider: Provider,
        scope: &str,
        target: Target,
        name: &str,
    ) -> Option<RepoInfo> {
        self.state().rename(provider, scope, target, name)
    }

    /// Removes a repository.
    pub fn remove(&self, provider: Provider, scope: &str, target: Target) -> Option<RepoInfo> {
        self.state().remove(provider, scope, target)
    }

    /// Moves a repository to another scope of the same provider; its ids stay.
    pub fn transfer(
        &self,
        provider: Provider,
        scope: &str,
        target: Target,
        to_scope: &str,
    ) -> Option<RepoInfo> {
        self.state().transfer(provider, scope, target, to_scope)
    }

    /// Pushes a new head commit to the default branch, changing its ETag.
    pub fn push(&self, provider: Provider, scope: &str, target: Target) -> Option<RepoInfo> {
        self.state().push(provider, scope, target)
    }

    /// Makes every later request with this token fail authentication.
    pub fn revoke_token(&self, token: &str) {
        self.state().revoke(token);
    }

    /// Makes the next `fault.count` matching requests fail.
    pub fn inject_fault(&self, fault: Fault) {
        self.state().inject(fault);
    }

    /// Provider requests served so far.
    pub fn stats(&self) -> Stats {
        self.state().stats()
    }

    /// Starts counting requests afresh.
    pub fn reset_stats(&self) {
        self.state().reset_stats();
    }

    /// Stops the server, finishing requests in flight.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

impl Drop for FakeCodeHost {
    fn drop(&mut self) {
        // Sending the stop command is immediate; nobody needs to await its completion.
        drop(self.handle.stop(false));
    }
}
