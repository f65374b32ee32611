//! GitHub's side of the fake: the registered App, the browser's signed-in user, organizations
//! and who owns or belongs to them, installations and installation requests, and (in
//! `tokens`) OAuth codes and user tokens, all on a clock a test can move forward.

use super::tokens::{Client, Issued, TokenError, TokenUser, Tokens};
use super::webhooks::Hooks;
use crate::fake::state::stable_hash;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Installations the install flow creates are numbered from here, far above the small ids
/// tests give the installations that exist on first use.
const FIRST_CREATED_INSTALLATION: u64 = 50_000_001;

/// The GitHub App the fake hosts: its OAuth client and where it sends browsers and webhooks.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubApp {
    /// Numeric app id (what the App's JWT names as issuer).
    pub app_id: u64,
    /// URL name: `/apps/{slug}/installations/new`.
    pub slug: String,
    /// OAuth client id (`Iv1.…`).
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// Registered callback URL; `None` accepts any `redirect_uri`.
    pub callback_url: Option<String>,
    /// Where the install flow sends the browser (Tether's `{public}/github/setup`).
    pub setup_url: Option<String>,
    /// Where webhooks are delivered (Tether's `{public}/webhooks/github`).
    pub webhook_url: Option<String>,
    /// Key of the deliveries' `X-Hub-Signature-256`.
    pub webhook_secret: String,
}

impl Default for GithubApp {
    fn default() -> Self {
        Self {
            app_id: 1,
            slug: "tether".into(),
            client_id: "Iv1.fake".into(),
            client_secret: "fake-client-secret".into(),
            callback_url: None,
            setup_url: None,
            webhook_url: None,
            webhook_secret: "fake-webhook-secret".into(),
        }
    }
}

impl GithubApp {
    /// The default App pointed at a Tether whose public URL is `tether_url`: setup URL
    /// `{tether_url}/github/setup`, webhook URL `{tether_url}/webhooks/github`.
    pub fn for_tether(tether_url: &str) -> Self {
        let base = tether_url.trim_end_matches('/');
        Self {
            setup_url: Some(format!("{base}/github/setup")),
            webhook_url: Some(format!("{base}/webhooks/github")),
            ..Self::default()
        }
    }
}

impl std::fmt::Debug for GithubApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubApp")
            .field("app_id", &self.app_id)
            .field("slug", &self.slug)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("callback_url", &self.callback_url)
            .field("setup_url", &self.setup_url)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &"[redacted]")
            .finish()
    }
}

/// A GitHub user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubUser {
    /// Login, e.g. `octocat`.
    pub login: String,
    /// Numeric id, e.g. `583231`.
    pub id: u64,
}

/// A GitHub organization and who belongs to it (by login).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubOrg {
    /// Login, e.g. `acme`.
    pub login: String,
    /// Numeric id (what the install flow's `target_id` names).
    pub id: u64,
    /// Users who may install apps on it.
    #[serde(default)]
    pub owners: Vec<String>,
    /// Users who may only request an installation.
    #[serde(default)]
    pub members: Vec<String>,
}

/// What kind of account an installation is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AccountKind {
    User,
    Organization,
}

impl AccountKind {
    /// GitHub's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Organization => "Organization",
        }
    }
}

/// A user or organization account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Account {
    pub login: String,
    pub id: u64,
    pub kind: AccountKind,
}

/// What a user may do on an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Owner,
    Member,
}

/// An installation of the App.
#[derive(Clone, Debug)]
pub(crate) struct Installation {
    pub id: u64,
    pub account: Account,
    /// The fake's scope holding the account's repositories.
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub suspended_at: Option<DateTime<Utc>>,
    /// `None`: every repository of the account; otherwise the chosen repository ids.
    pub selected: Option<BTreeSet<u64>>,
    /// Uninstalled: its tokens stop working and it is never listed again.
    pub deleted: bool,
}

impl Installation {
    /// GitHub's `repository_selection`.
    pub fn selection(&self) -> &'static str {
        if self.selected.is_some() {
            "selected"
        } else {
            "all"
        }
    }

    /// Whether the installation can read the repository.
    pub fn includes(&self, repo: u64) -> bool {
        self.selected.as_ref().is_none_or(|s| s.contains(&repo))
    }

    /// Neither uninstalled nor suspended.
    pub fn is_active(&self) -> bool {
        !self.deleted && self.suspended_at.is_none()
    }
}

/// GitHub's state.
#[derive(Debug)]
pub(crate) struct Github {
    pub app: GithubApp,
    session: String,
    users: BTreeMap<String, u64>,
    /// In registration order: the install flow's default target is the first one owned.
    orgs: Vec<GithubOrg>,
    pub installations: BTreeMap<u64, Installation>,
    /// Pending installation requests: account login → the member who asked.
    requests: BTreeMap<String, GithubUser>,
    /// OAuth codes and user tokens.
    pub tokens: Tokens,
    /// Seconds the clock was moved forward.
    clock_offset: i64,
    /// Refuse user tokens never minted here (off by default: suites seed linked accounts).
    pub reject_unknown_user_tokens: bool,
    /// Webhook deliveries queued and sent.
    pub hooks: Hooks,
}

impl Default for Github {
    fn default() -> Self {
        let mut github = Self {
            app: GithubApp::default(),
            session: String::new(),
            users: BTreeMap::new(),
            orgs: Vec::new(),
            installations: BTreeMap::new(),
            requests: BTreeMap::new(),
            tokens: Tokens::default(),
            clock_offset: 0,
            reject_unknown_user_tokens: false,
            hooks: Hooks::default(),
        };
        github.set_session(GithubUser {
            login: "octocat".into(),
            id: 583_231,
        });
        github.add_org(GithubOrg {
            login: "ghost".into(),
            id: 1000,
            owners: vec!["octocat".into()],
            members: Vec::new(),
        });
        github
    }
}

impl Github {
    /// The fake's GitHub time (real time plus whatever a test moved it forward by).
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::seconds(self.clock_offset)
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, seconds: i64) {
        self.clock_offset += seconds.max(0);
    }

    /// A user by login: its registered id, or a stable one derived from the login.
    pub fn user(&self, login: &str) -> GithubUser {
        let id = self.users.get(login).copied().unwrap_or_else(|| {
            stable_hash(&["github-user", &login.to_ascii_lowercase()]) % 90_000_000 + 10_000_000
        });
        GithubUser {
            login: login.to_owned(),
            id,
        }
    }

    /// The user the fake's browser is signed in as.
    pub fn session_user(&self) -> GithubUser {
        self.user(&self.session)
    }

    /// Signs the browser in as `user`.
    pub fn set_session(&mut self, user: GithubUser) {
        self.session = user.login.clone();
        self.users.insert(user.login, user.id);
    }

    /// Adds an organization, or replaces the one with the same login.
    pub fn add_org(&mut self, org: GithubOrg) {
        for login in org.owners.iter().chain(&org.members) {
            let id = self.user(login).id;
            self.users.entry(login.clone()).or_insert(id);
        }
        match self.orgs.iter_mut().find(|o| o.login == org.login) {
            Some(existing) => *existing = org,
            None => self.orgs.push(org),
        }
    }

    /// The organization with this login.
    pub fn org(&self, login: &str) -> Option<&GithubOrg> {
        self.orgs
            .iter()
            .find(|o| o.login.eq_ignore_ascii_case(login))
    }

    /// The organization with this id.
    pub fn org_by_id(&self, id: u64) -> Option<&GithubOrg> {
        self.orgs.iter().find(|o| o.id == id)
    }

    /// What `login` may do on the account: everyone owns their own user account.
    pub fn role(&self, login: &str, account: &Account) -> Option<Role> {
        match account.kind {
            AccountKind::User => account
                .login
                .eq_ignore_ascii_case(login)
                .then_some(Role::Owner),
            AccountKind::Organization => {
                let org = self.org(&account.login)?;
                if org.owners.iter().any(|o| o.eq_ignore_ascii_case(login)) {
                    Some(Role::Owner)
                } else if org.members.iter().any(|m| m.eq_ignore_ascii_case(login)) {
                    Some(Role::Member)
                } else {
                    None
                }
            }
        }
    }

    /// The first organization `login` owns.
    pub fn first_owned_org(&self, login: &str) -> Option<&GithubOrg> {
        self.orgs.iter().find(|o| {
            o.owners
                .iter()
                .any(|owner| owner.eq_ignore_ascii_case(login))
        })
    }

    /// The account whose repositories a GitHub scope holds: a numeric scope is the
    /// installation of that id on the synthetic organization `org-{id}`; any other scope is the
    /// organization or user of that login.
    pub fn account_of_scope(&self, scope: &str) -> Account {
        if let Ok(id) = scope.parse::<u64>() {
            return Account {
                login: format!("org-{id}"),
                id: legacy_account_id(id),
                kind: AccountKind::Organization,
            };
        }
        match self.org(scope) {
            Some(org) => Account {
                login: org.login.clone(),
                id: org.id,
                kind: AccountKind::Organization,
            },
            None => {
                let user = self.user(scope);
                Account {
                    login: user.login,
                    id: user.id,
                    kind: AccountKind::User,
                }
            }
        }
    }

    /// The scope holding an account's repositories (the inverse of `account_of_scope`).
    pub fn scope_of_owner(owner: &str) -> String {
        match owner.strip_prefix("org-") {
            Some(id) if id.parse::<u64>().is_ok() => id.to_owned(),
            _ => owner.to_owned(),
        }
    }

    /// Whether `login` can see the installation: its account's owners and members, the user
    /// it is installed on, and everyone for the synthetic `org-{id}` organizations (which have
    /// no members to consult).
    pub fn can_see(&self, login: &str, installation: &Installation) -> bool {
        installation.scope == installation.id.to_string()
            || self.role(login, &installation.account).is_some()
    }

    /// The installation with this id; one that was never created explicitly exists on first
    /// use on `org-{id}` (how the fake always behaved), unless it was uninstalled.
    pub fn installation_or_synthetic(&mut self, id: u64) -> &mut Installation {
        let account = self.account_of_scope(&id.to_string());
        let now = self.now();
        self.installations
            .entry(id)
            .or_insert_with(|| Installation {
                id,
                account,
                scope: id.to_string(),
                created_at: now,
                suspended_at: None,
                selected: None,
                deleted: false,
            })
    }

    /// The installation on this account that is not uninstalled.
    pub fn installation_on(&self, account_login: &str) -> Option<&Installation> {
        self.installations
            .values()
            .find(|i| !i.deleted && i.account.login.eq_ignore_ascii_case(account_login))
    }

    /// Installs the App on `account` with every repository; returns the new id.
    pub fn create_installation(&mut self, account: Account) -> u64 {
        let mut id = FIRST_CREATED_INSTALLATION;
        while self.installations.contains_key(&id) {
            id += 1;
        }
        let installation = Installation {
            id,
            scope: account.login.clone(),
            account,
            created_at: self.now(),
            suspended_at: None,
            selected: None,
            deleted: false,
        };
        self.installations.insert(id, installation);
        id
    }

    /// Records that `requester` asked for the App on the account.
    pub fn request(&mut self, account_login: &str, requester: GithubUser) {
        self.requests.insert(account_login.to_owned(), requester);
    }

    /// Removes and returns the pending request for the account.
    pub fn take_request(&mut self, account_login: &str) -> Option<GithubUser> {
        let key = self
            .requests
            .keys()
            .find(|k| k.eq_ignore_ascii_case(account_login))?
            .clone();
        self.requests.remove(&key)
    }

    /// Pending requests: (account login, requester).
    pub fn requests(&self) -> Vec<(String, GithubUser)> {
        self.requests
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// A single-use code for `login`, remembering the `redirect_uri` the authorization used.
    pub fn issue_code(
        &mut self,
        login: &str,
        client_id: &str,
        redirect_uri: Option<&str>,
    ) -> String {
        let now = self.now();
        self.tokens.issue_code(now, login, client_id, redirect_uri)
    }

    /// Exchanges a code for a token pair; the code works once.
    pub fn exchange_code(
        &mut self,
        client_id: &str,
        client_secret: &str,
        code: &str,
        redirect_uri: Option<&str>,
    ) -> Result<Issued, TokenError> {
        let now = self.now();
        let client = Client::of(&self.app, client_id, client_secret)?;
        self.tokens.exchange_code(now, client, code, redirect_uri)
    }

    /// Exchanges a refresh token for a new pair; the old refresh and access tokens stop
    /// working.
    pub fn refresh(
        &mut self,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
    ) -> Result<Issued, TokenError> {
        let now = self.now();
        let client = Client::of(&self.app, client_id, client_secret)?;
        self.tokens.refresh(now, client, refresh_token)
    }

    /// Whose user access token this is, if it still works (revocation is checked by the
    /// caller, which holds the revocation list).
    pub fn token_user(&self, token: &str) -> TokenUser {
        self.tokens.token_user(self.now(), token)
    }
}

/// Account id of the synthetic organization `org-{installation}`.
pub(crate) fn legacy_account_id(installation: u64) -> u64 {
    stable_hash(&["github-account", &installation.to_string()]) % 100_000_000 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_members_and_strangers_of_an_organization() {
        let mut github = Github::default();
        github.add_org(GithubOrg {
            login: "acme".into(),
            id: 7,
            owners: vec!["alice".into()],
            members: vec!["mona".into()],
        });
        let acme = github.account_of_scope("acme");
        assert_eq!(acme.kind, AccountKind::Organization);
        assert_eq!(github.role("alice", &acme), Some(Role::Owner));
        assert_eq!(github.role("mona", &acme), Some(Role::Member));
        assert_eq!(github.role("octocat", &acme), None);
        let own = github.account_of_scope("octocat");
        assert_eq!((own.kind, own.id), (AccountKind::User, 583_231));
        assert_eq!(github.first_owned_org("octocat").unwrap().login, "ghost");
        assert_eq!(Github::scope_of_owner("org-42"), "42");
        assert_eq!(Github::scope_of_owner("acme"), "acme");
    }
}
