//! The fake code host: GitHub, GitLab, Bitbucket Cloud and Azure DevOps on one port, with
//! synthetic repositories, latency, rate-limit headers, faults on demand and an admin API.
//! GitHub also serves its web pages (the OAuth web flow and the App's install flow, as if the
//! signed-in user clicked through them) and delivers signed webhooks to the App.
//!
//! Every scope (GitLab group, Bitbucket workspace, Azure DevOps organization, GitHub account)
//! exists on first use with `repos_per_scope` repositories whose ids derive from the scope and
//! their number, so two runs see the same ids. A numeric GitHub scope `N` is installation `N`
//! on the synthetic organization `org-N` (how tests name installations without the install
//! flow); the install flow installs on a named account (`ghost`, `acme`, a user) instead.

mod admin;
mod azure;
mod bitbucket;
mod github;
mod gitlab;
mod hostile;
mod http;
mod server;
mod state;

pub use github::ops::OpError;
pub use github::webhooks::{Delivery, Signature, signature};
pub use github::world::{GithubApp, GithubOrg, GithubUser};
pub use hostile::{Hostile, HostileAnswer};
pub use state::{Fault, Provider, REPOS_PER_AZURE_PROJECT, RepoInfo, Stats, Target};

use github::webhooks::{Deliverer, flush};
use serde_json::Value;
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
    deliverer: Deliverer,
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
        let deliverer = Deliverer::new();
        let server = server::serve(listener, state.clone(), config.latency, deliverer.clone())?;
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            state,
            deliverer,
            address,
            handle,
        })
    }

    /// Starts one whose scopes begin with `repos_per_scope` repositories, with no latency.
    pub async fn with_repos(repos_per_scope: usize) -> std::io::Result<FakeCodeHost> {
        Self::start(FakeConfig {
            repos_per_scope,
            ..FakeConfig::default()
        })
        .await
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

    /// Answers the matching requests in a hostile way until [`Self::clear_hostile`].
    pub fn set_hostile(&self, rule: Hostile) {
        self.state().set_hostile(rule);
    }

    /// Answers every request normally again.
    pub fn clear_hostile(&self) {
        self.state().clear_hostile();
    }

    /// Provider requests served so far.
    pub fn stats(&self) -> Stats {
        self.state().stats()
    }

    /// Starts counting requests afresh.
    pub fn reset_stats(&self) {
        self.state().reset_stats();
    }

    /// Registers the GitHub App (OAuth client, setup and webhook URLs, webhook secret).
    pub fn set_github_app(&self, app: GithubApp) {
        self.state().github.app = app;
    }

    /// Signs the fake's browser in to GitHub as `user`.
    pub fn set_github_user(&self, user: GithubUser) {
        self.state().github.set_session(user);
    }

    /// Adds a GitHub organization (or replaces the one with its login).
    pub fn add_github_org(&self, org: GithubOrg) {
        self.state().github.add_org(org);
    }

    /// Makes user access tokens minted from now on expire after `seconds`.
    pub fn set_github_token_lifetime(&self, seconds: i64) {
        self.state().github.tokens.access_token_lifetime = seconds.max(1);
    }

    /// Moves GitHub's clock forward (codes, user tokens and installation tokens age with it).
    pub fn advance_github_clock(&self, seconds: i64) {
        self.state().github.advance(seconds);
    }

    /// Refuses user tokens the fake never minted, as GitHub does (by default they speak for
    /// the signed-in user, because suites seed linked accounts without the OAuth flow).
    pub fn reject_unknown_github_user_tokens(&self, reject: bool) {
        self.state().github.reject_unknown_user_tokens = reject;
    }

    /// Runs a GitHub operation and sends the webhooks it queued.
    async fn github_op(
        &self,
        op: impl FnOnce(&mut State) -> Result<Value, OpError>,
    ) -> Result<Vec<Delivery>, OpError> {
        op(&mut self.state())?;
        Ok(flush(&self.state, &self.deliverer).await)
    }

    /// An organization owner approves the pending installation request on `account`;
    /// `installation.created` (with the requester) is delivered.
    pub async fn approve_github_request(&self, account: &str) -> Result<Vec<Delivery>, OpError> {
        self.github_op(|s| github::ops::approve(s, account)).await
    }

    /// Uninstalls the App: `installation.deleted` is delivered, its tokens stop working.
    pub async fn uninstall_github(&self, installation: u64) -> Result<Vec<Delivery>, OpError> {
        self.github_op(|s| github::ops::uninstall(s, installation))
            .await
    }

    /// Suspends (or unsuspends) an installation: `installation.suspend` / `unsuspend`.
    pub async fn suspend_github(
        &self,
        installation: u64,
        suspend: bool,
    ) -> Result<Vec<Delivery>, OpError> {
        self.github_op(|s| github::ops::set_suspended(s, installation, suspend))
            .await
    }

    /// Takes repositories out of an installation: `installation_repositories.removed`.
    pub async fn remove_github_repositories(
        &self,
        installation: u64,
        names: &[String],
    ) -> Result<Vec<Delivery>, OpError> {
        self.github_op(|s| github::ops::remove_repositories(s, installation, names))
            .await
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
