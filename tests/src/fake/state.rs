//! The fake host's data: scopes of synthetic repositories, tokens, faults and counters.

use super::github::world::Github;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// One of the four code hosts the fake imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// GitLab (groups of projects).
    Gitlab,
    /// Bitbucket Cloud (workspaces of repositories).
    Bitbucket,
    /// Azure DevOps (organizations of projects of repositories).
    Azure,
    /// GitHub (App installations).
    Github,
}

impl Provider {
    /// The lowercase name used by the admin API and the statistics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gitlab => "gitlab",
            Self::Bitbucket => "bitbucket",
            Self::Azure => "azure",
            Self::Github => "github",
        }
    }
}

/// Azure DevOps organizations spread their repositories over projects of this many.
pub const REPOS_PER_AZURE_PROJECT: u64 = 50;

/// Repositories one scope can ever create; ids of different scopes never overlap below it.
const ID_SPACE: u64 = 1 << 22;

/// FNV-1a over the parts, finished with splitmix64: stable across runs and Rust versions.
pub(crate) fn stable_hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A deterministic UUID (version 4 layout) for the given parts.
pub(crate) fn stable_uuid(parts: &[&str]) -> Uuid {
    let high = stable_hash(parts);
    let low = stable_hash(&[&high.to_string(), "uuid"]);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Picks a repository: its position in the scope's listing, its numeric id or its UUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Position in the scope's current listing, from 0.
    Index(usize),
    /// The numeric id (GitLab project id, GitHub repository id; the fake's key elsewhere).
    Id(u64),
    /// The UUID (Bitbucket and Azure DevOps repository ids).
    Uuid(Uuid),
}

/// A synthetic repository.
#[derive(Clone, Debug)]
pub struct Repo {
    /// Stable numeric id (GitLab/GitHub ids, the fake's own key for the others).
    pub id: u64,
    /// Stable UUID (Bitbucket and Azure DevOps ids).
    pub uuid: Uuid,
    /// Creation number in its original scope; the derived attributes follow from it.
    pub serial: u64,
    /// Current name (`repo-00042` until renamed).
    pub name: String,
    /// Number of pushes since creation; the head commit derives from it.
    pub pushes: u64,
    /// Last push (or activity).
    pub pushed_at: DateTime<Utc>,
    /// Azure DevOps project number within the organization.
    pub project: u64,
}

const LANGUAGES: [&str; 6] = ["Rust", "Go", "TypeScript", "Python", "Java", "Kotlin"];
const TOPICS: [&str; 4] = ["backend", "frontend", "infra", "tools"];

impl Repo {
    fn new(id: u64, scope_key: &str, serial: u64) -> Self {
        let base = Utc
            .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_else(Utc::now);
        Self {
            id,
            uuid: stable_uuid(&[scope_key, &serial.to_string()]),
            serial,
            name: format!("repo-{serial:05}"),
            pushes: 0,
            pushed_at: base + chrono::Duration::minutes(serial as i64),
            project: serial / REPOS_PER_AZURE_PROJECT,
        }
    }

    /// URL-safe form of the name (Bitbucket slug, GitLab path).
    pub fn slug(&self) -> String {
        self.name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect()
    }

    /// Head commit of the default branch: changes with every push.
    pub fn sha(&self) -> String {
        let a = stable_hash(&["sha", &self.id.to_string(), &self.pushes.to_string()]);
        let b = stable_hash(&[&a.to_string()]);
        let c = stable_hash(&[&b.to_string()]);
        format!("{a:016x}{b:016x}{:08x}", c >> 32)
    }

    /// Strong ETag of the default branch.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.sha())
    }

    /// `private`, `internal` or `public`.
    pub fn visibility(&self) -> &'static str {
        ["private", "internal", "public"][(self.serial % 3) as usize]
    }

    /// Whether only members can see it.
    pub fn is_private(&self) -> bool {
        self.visibility() != "public"
    }

    /// Every 25th repository is archived.
    pub fn archived(&self) -> bool {
        self.serial % 25 == 24
    }

    /// Every 25th repository (another one than the archived) is disabled: nobody can read it.
    pub fn disabled(&self) -> bool {
        self.serial % 25 == 12
    }

    /// Every 10th repository is a fork.
    pub fn fork(&self) -> bool {
        self.serial % 10 == 7
    }

    /// Main language.
    pub fn language(&self) -> &'static str {
        LANGUAGES[(self.serial % LANGUAGES.len() as u64) as usize]
    }

    /// Repository size in bytes.
    pub fn size_bytes(&self) -> u64 {
        (1 + stable_hash(&[&self.id.to_string(), "size"]) % 50_000) * 1024
    }

    /// Topics (GitLab topics, GitHub topics).
    pub fn topics(&self) -> Vec<&'static str> {
        vec![TOPICS[(self.serial % TOPICS.len() as u64) as usize]]
    }

    /// Name of the default branch.
    pub fn default_branch(&self) -> &'static str {
        "main"
    }
}

/// One GitLab group, Bitbucket workspace, Azure DevOps organization or GitHub installation.
#[derive(Clone, Debug)]
pub struct Scope {
    /// Group path, workspace, organization or installation id as the provider spells it.
    pub name: String,
    /// Stable numeric id of the scope itself (GitLab group id, GitHub account id).
    pub id: u64,
    /// Serial of the next repository created here.
    pub next_serial: u64,
    /// Repositories ordered by id.
    pub repos: Vec<Repo>,
}

impl Scope {
    fn key(provider: Provider, name: &str) -> String {
        format!("{}:{name}", provider.as_str())
    }

    fn id_base(provider: Provider, name: &str) -> u64 {
        (stable_hash(&[&Self::key(provider, name)]) % (1 << 30) + 1) * ID_SPACE
    }

    /// Position of the targeted repository.
    pub fn position(&self, target: Target) -> Option<usize> {
        match target {
            Target::Index(i) => (i < self.repos.len()).then_some(i),
            Target::Id(id) => self.repos.binary_search_by_key(&id, |r| r.id).ok(),
            Target::Uuid(uuid) => self.repos.iter().position(|r| r.uuid == uuid),
        }
    }

    fn insert(&mut self, repo: Repo) {
        let at = self.repos.partition_point(|r| r.id < repo.id);
        self.repos.insert(at, repo);
    }
}

/// A failure the next matching requests answer instead of their normal response.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Fault {
    /// Matches requests whose path and query contain this text.
    pub path_contains: String,
    /// 429, 500, 502 or 503.
    pub status: u16,
    /// How many requests fail.
    #[serde(default = "one")]
    pub count: u32,
    /// `Retry-After` seconds (429).
    #[serde(default)]
    pub retry_after: Option<u64>,
}

fn one() -> u32 {
    1
}

/// Requests served, for benchmarks and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Every provider request (admin requests excluded).
    pub requests: u64,
    /// Requests per endpoint label, e.g. `gitlab.projects`.
    pub by_endpoint: BTreeMap<String, u64>,
    /// Requests answered by an injected fault instead of their normal response: a test that
    /// injects one can tell it fired.
    #[serde(default)]
    pub faults_served: u64,
}

/// What a mutation did to a repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoInfo {
    /// Numeric id.
    pub id: u64,
    /// UUID.
    pub uuid: Uuid,
    /// Current name.
    pub name: String,
    /// Scope it now belongs to.
    pub scope: String,
    /// Head commit of the default branch.
    pub head: String,
}

/// Rate-limit window of one credential on one provider.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: i64,
    used: u64,
}

/// Rate-limit state to report in headers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    pub limit: u64,
    pub remaining: u64,
    pub used: u64,
    /// Unix time the window resets.
    pub reset: i64,
}

/// The whole fake host.
#[derive(Debug, Default)]
pub struct State {
    repos_per_scope: u64,
    scopes: HashMap<(Provider, String), Scope>,
    locations: HashMap<(Provider, u64), String>,
    gitlab_groups: HashMap<u64, String>,
    revoked: HashSet<String>,
    github_tokens: HashMap<String, u64>,
    faults: Vec<Fault>,
    hostile: Vec<super::hostile::Hostile>,
    stats: Stats,
    windows: HashMap<(Provider, String), Window>,
    /// GitHub's App, users, organizations, installations and user tokens.
    pub(crate) github: Github,
}

impl State {
    /// A host whose scopes start with `repos_per_scope` repositories.
    pub fn new(repos_per_scope: usize) -> Self {
        Self {
            repos_per_scope: repos_per_scope as u64,
            ..Self::default()
        }
    }

    /// The scope, created with its synthetic repositories on first use.
    pub fn scope(&mut self, provider: Provider, name: &str) -> &mut Scope {
        let count = self.repos_per_scope;
        let (locations, groups) = (&mut self.locations, &mut self.gitlab_groups);
        self.scopes
            .entry((provider, name.to_owned()))
            .or_insert_with(|| {
                let id = Scope::id_base(provider, name) / ID_SPACE;
                if provider == Provider::Gitlab {
                    groups.insert(id, name.to_owned());
                }
                let mut scope = Scope {
                    name: name.to_owned(),
                    id,
                    next_serial: 0,
                    repos: Vec::with_capacity(count as usize),
                };
                for _ in 0..count {
                    let repo = create(provider, &mut scope, locations);
                    scope.repos.push(repo);
                }
                scope
            })
    }

    /// Names of the scopes of `provider` that exist so far.
    pub fn scope_names(&self, provider: Provider) -> Vec<String> {
        let mut names: Vec<String> = self
            .scopes
            .keys()
            .filter(|(p, _)| *p == provider)
            .map(|(_, n)| n.clone())
            .collect();
        names.sort();
        names
    }

    /// The scopes of `provider` that exist so far.
    pub fn scopes_of(&self, provider: Provider) -> impl Iterator<Item = &Scope> {
        self.scopes
            .iter()
            .filter(move |((p, _), _)| *p == provider)
            .map(|(_, scope)| scope)
    }

    /// The scope holding the repository with this id, if it exists.
    pub fn locate(&self, provider: Provider, id: u64) -> Option<(&Scope, &Repo)> {
        let name = self.locations.get(&(provider, id))?;
        let scope = self.scopes.get(&(provider, name.clone()))?;
        let at = scope.position(Target::Id(id))?;
        Some((scope, &scope.repos[at]))
    }

    /// Full path of the GitLab group with this numeric id.
    pub fn gitlab_group(&self, id: u64) -> Option<&str> {
        self.gitlab_groups.get(&id).map(String::as_str)
    }

    /// Sets how many repositories a scope has, adding or removing from the end.
    pub fn set_repos(&mut self, provider: Provider, name: &str, count: usize) {
        let mut scope = self.scope(provider, name).clone();
        while scope.repos.len() > count {
            if let Some(gone) = scope.repos.pop() {
                self.locations.remove(&(provider, gone.id));
            }
        }
        while scope.repos.len() < count {
            let repo = create(provider, &mut scope, &mut self.locations);
            scope.insert(repo);
        }
        self.scopes.insert((provider, name.to_owned()), scope);
    }

    /// Adds a repository (named `repo-NNNNN` unless a name is given).
    pub fn add(&mut self, provider: Provider, name: &str, repo_name: Option<&str>) -> RepoInfo {
        let mut scope = self.scope(provider, name).clone();
        let mut repo = create(provider, &mut scope, &mut self.locations);
        if let Some(repo_name) = repo_name {
            repo.name = repo_name.to_owned();
        }
        let info = info(&scope.name, &repo);
        scope.insert(repo);
        self.scopes.insert((provider, name.to_owned()), scope);
        info
    }

    fn with_repo<T>(
        &mut self,
        provider: Provider,
        name: &str,
        target: Target,
        change: impl FnOnce(&mut Repo) -> T,
    ) -> Option<(T, RepoInfo)> {
        let scope = self.scope(provider, name);
        let at = scope.position(target)?;
        let repo = &mut scope.repos[at];
        let out = change(repo);
        Some((out, info(name, repo)))
    }

    /// Renames a repository; its ids stay.
    pub fn rename(
        &mut self,
        provider: Provider,
        name: &str,
        target: Target,
        new_name: &str,
    ) -> Option<RepoInfo> {
        self.with_repo(provider, name, target, |r| r.name = new_name.to_owned())
            .map(|(_, i)| i)
    }

    /// Pushes a new head commit to the default branch (its ETag changes).
    pub fn push(&mut self, provider: Provider, name: &str, target: Target) -> Option<RepoInfo> {
        self.with_repo(provider, name, target, |r| {
            r.pushes += 1;
            r.pushed_at = Utc::now();
        })
        .map(|(_, i)| i)
    }

    /// Removes a repository.
    pub fn remove(&mut self, provider: Provider, name: &str, target: Target) -> Option<RepoInfo> {
        let scope = self.scope(provider, name);
        let at = scope.position(target)?;
        let gone = scope.repos.remove(at);
        self.locations.remove(&(provider, gone.id));
        Some(info(name, &gone))
    }

    /// Moves a repository to another scope of the same provider; its ids stay.
    pub fn transfer(
        &mut self,
        provider: Provider,
        name: &str,
        target: Target,
        to: &str,
    ) -> Option<RepoInfo> {
        let scope = self.scope(provider, name);
        let at = scope.position(target)?;
        let mut repo = scope.repos.remove(at);
        let destination = self.scope(provider, to);
        repo.project = destination.repos.last().map_or(0, |r| r.project);
        let moved = info(to, &repo);
        destination.insert(repo);
        self.locations.insert((provider, moved.id), to.to_owned());
        Some(moved)
    }

    /// Makes every later request with this token fail authentication.
    pub fn revoke(&mut self, token: &str) {
        self.revoked.insert(token.to_owned());
    }

    /// Whether the token was revoked.
    pub fn is_revoked(&self, token: &str) -> bool {
        self.revoked.contains(token)
    }

    /// Records a GitHub installation access token.
    pub fn mint_github_token(&mut self, token: String, installation: u64) {
        self.github_tokens.insert(token, installation);
    }

    /// The installation a GitHub installation token was minted for.
    pub fn github_installation(&self, token: &str) -> Option<u64> {
        self.github_tokens.get(token).copied()
    }

    /// Queues a fault.
    pub fn inject(&mut self, fault: Fault) {
        if fault.count > 0 {
            self.faults.push(fault);
        }
    }

    /// Answers the matching requests in a hostile way until [`Self::clear_hostile`].
    pub fn set_hostile(&mut self, rule: super::hostile::Hostile) {
        self.hostile.push(rule);
    }

    /// Answers every request normally again.
    pub fn clear_hostile(&mut self) {
        self.hostile.clear();
    }

    /// The hostile answer this request gets, if any (counted as a fault served).
    pub fn hostile_for(&mut self, path_and_query: &str) -> Option<super::hostile::HostileAnswer> {
        let answer = self.hostile_rule(path_and_query)?.clone();
        self.stats.faults_served += 1;
        Some(answer)
    }

    /// The hostile answer this request gets, if any.
    pub fn hostile_rule(&self, path_and_query: &str) -> Option<&super::hostile::HostileAnswer> {
        self.hostile
            .iter()
            .find(|r| r.matches(path_and_query))
            .map(|r| &r.answer)
    }

    /// The fault this request must answer, if any (consumes one of its count and counts it as
    /// served).
    pub fn take_fault(&mut self, path_and_query: &str) -> Option<Fault> {
        let at = self
            .faults
            .iter()
            .position(|f| path_and_query.contains(&f.path_contains))?;
        self.stats.faults_served += 1;
        let fault = self.faults[at].clone();
        self.faults[at].count -= 1;
        if self.faults[at].count == 0 {
            self.faults.remove(at);
        }
        Some(fault)
    }

    /// Counts one provider request.
    pub fn count(&mut self, endpoint: &str) {
        self.stats.requests += 1;
        *self
            .stats
            .by_endpoint
            .entry(endpoint.to_owned())
            .or_default() += 1;
    }

    /// Requests counted so far.
    pub fn stats(&self) -> Stats {
        self.stats.clone()
    }

    /// Starts counting afresh.
    pub fn reset_stats(&mut self) {
        self.stats = Stats::default();
    }

    /// Charges one request to the credential's window and reports what is left.
    pub(crate) fn charge(&mut self, provider: Provider, credential: &str) -> Budget {
        let (limit, seconds) = match provider {
            // GitHub Enterprise Cloud installation tokens.
            Provider::Github => (15_000, 3_600),
            // GitLab.com authenticated API traffic.
            Provider::Gitlab => (2_000, 60),
            // Bitbucket's scaled limit for large workspaces.
            Provider::Bitbucket => (10_000, 3_600),
            // Azure DevOps' throughput units per sliding five minutes.
            Provider::Azure => (200, 300),
        };
        let now = Utc::now().timestamp();
        let window = self
            .windows
            .entry((provider, credential.to_owned()))
            .or_insert(Window {
                start: now,
                used: 0,
            });
        if now >= window.start + seconds {
            *window = Window {
                start: now,
                used: 0,
            };
        }
        window.used += 1;
        // Azure DevOps counts throughput units, not requests; a listing costs a fraction of one.
        let used = match provider {
            Provider::Azure => window.used.div_ceil(20),
            _ => window.used,
        };
        Budget {
            limit,
            // Never exhausted by itself: only an injected 429 reports zero remaining, so a
            // benchmark never waits for a window it did not ask for.
            remaining: limit.saturating_sub(used).max(1),
            used,
            reset: window.start + seconds,
        }
    }
}

/// The scope's next repository, registered in `locations`.
fn create(
    provider: Provider,
    scope: &mut Scope,
    locations: &mut HashMap<(Provider, u64), String>,
) -> Repo {
    let serial = scope.next_serial;
    scope.next_serial += 1;
    let id = Scope::id_base(provider, &scope.name) + serial;
    locations.insert((provider, id), scope.name.clone());
    Repo::new(id, &Scope::key(provider, &scope.name), serial)
}

fn info(scope: &str, repo: &Repo) -> RepoInfo {
    RepoInfo {
        id: repo.id,
        uuid: repo.uuid,
        name: repo.name.clone(),
        scope: scope.to_owned(),
        head: repo.sha(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_deterministic_and_disjoint() {
        let mut a = State::new(3);
        let mut b = State::new(3);
        let first = a.scope(Provider::Gitlab, "ghost/one").repos.clone();
        let again = b.scope(Provider::Gitlab, "ghost/one").repos.clone();
        assert_eq!(
            first.iter().map(|r| (r.id, r.uuid)).collect::<Vec<_>>(),
            again.iter().map(|r| (r.id, r.uuid)).collect::<Vec<_>>()
        );
        let other = a.scope(Provider::Gitlab, "ghost/two").repos.clone();
        assert!(other.iter().all(|r| first.iter().all(|f| f.id != r.id)));
        assert_eq!(first[2].name, "repo-00002");
    }

    #[test]
    fn a_transfer_keeps_the_id_and_moves_the_location() {
        let mut s = State::new(2);
        let moved = s
            .transfer(Provider::Github, "1", Target::Index(0), "2")
            .unwrap();
        assert_eq!(s.scope(Provider::Github, "1").repos.len(), 1);
        assert_eq!(s.locate(Provider::Github, moved.id).unwrap().0.name, "2");
    }

    #[test]
    fn a_fault_answers_as_many_requests_as_its_count_and_each_is_counted() {
        let mut s = State::new(1);
        s.inject(Fault {
            path_contains: "page=2".into(),
            status: 502,
            count: 2,
            retry_after: None,
        });
        assert!(s.take_fault("/projects?page=1").is_none());
        assert_eq!(s.stats().faults_served, 0);
        assert!(s.take_fault("/projects?page=2").is_some());
        assert!(s.take_fault("/projects?page=2").is_some());
        assert!(s.take_fault("/projects?page=2").is_none());
        assert_eq!(s.stats().faults_served, 2);
    }

    #[test]
    fn a_push_changes_the_head() {
        let mut s = State::new(1);
        let before = s.scope(Provider::Azure, "org").repos[0].etag();
        s.push(Provider::Azure, "org", Target::Index(0)).unwrap();
        assert_ne!(before, s.scope(Provider::Azure, "org").repos[0].etag());
    }
}
