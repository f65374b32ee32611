//! Inputs parsed into domain types at the boundary: past a resolver, nobody handles a raw string.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use url::Url;

/// A malformed input, naming the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidInput {
    /// The input field (GraphQL name).
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl InvalidInput {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A provider credential. Never printed; only its last four characters are ever shown.
#[derive(Clone)]
pub struct AccessToken(SecretString);

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessToken({})", self.hint())
    }
}

impl AccessToken {
    /// Parses a token: non-empty, printable ASCII without spaces, at most 2,048 characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(InvalidInput::new("token", "the token is empty"));
        }
        if raw.len() > 2048 {
            return Err(InvalidInput::new(
                "token",
                "the token is longer than 2048 characters",
            ));
        }
        if !raw.chars().all(|c| c.is_ascii_graphic()) {
            return Err(InvalidInput::new(
                "token",
                "the token contains spaces or characters that cannot be sent in a header",
            ));
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    /// Wraps a secret that was already validated (e.g. opened from the database).
    pub fn from_secret(secret: SecretString) -> Self {
        Self(secret)
    }

    /// The secret itself, for sealing or sending.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    /// `…a1b2`: enough for a person to recognise the token, useless to anyone else.
    pub fn hint(&self) -> String {
        let value = self.0.expose_secret();
        let tail: String = value
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if value.chars().count() <= 8 {
            "…".to_owned()
        } else {
            format!("…{tail}")
        }
    }
}

/// A GitLab group path such as `ghost/mygroup` (subgroups included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPath(String);

impl GroupPath {
    /// Parses a group path following GitLab's path rules for every segment.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let trimmed = raw.trim().trim_matches('/');
        let field = "groupPath";
        if trimmed.is_empty() {
            return Err(InvalidInput::new(field, "the group path is empty"));
        }
        if trimmed.len() > 1024 {
            return Err(InvalidInput::new(field, "the group path is too long"));
        }
        for segment in trimmed.split('/') {
            let valid_chars = segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            // GitLab's own rule; older groups may start with '_' or end with '-'.
            let bad_edges = segment.starts_with('-')
                || segment.ends_with(".git")
                || segment.ends_with(".atom")
                || segment.chars().all(|c| c == '.');
            if segment.is_empty() || !valid_chars || bad_edges || segment.len() > 255 {
                return Err(InvalidInput::new(
                    field,
                    format!(
                        "{segment:?} is not a valid GitLab group path segment: use letters, digits, \
                         '_', '-' and '.', not at the start or end (e.g. ghost/mygroup)"
                    ),
                ));
            }
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The path as given, e.g. `ghost/mygroup`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Bitbucket Cloud workspace ID (its slug), such as `ghost`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceId(String);

impl WorkspaceId {
    /// Parses a workspace ID: lowercase letters, digits, '-' and '_' (lowercased on the way in).
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let value = raw.trim().to_ascii_lowercase();
        let ok = !value.is_empty()
            && value.len() <= 100
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            && !value.starts_with(['-', '_']);
        if ok {
            Ok(Self(value))
        } else {
            Err(InvalidInput::new(
                "workspaceId",
                format!(
                    "{:?} is not a Bitbucket workspace ID: use the slug from https://bitbucket.org/<workspace> \
                     (letters, digits, '-' and '_')",
                    raw.trim()
                ),
            ))
        }
    }

    /// The workspace slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An Atlassian account email, used with an API token for HTTP Basic authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEmail(String);

impl AccountEmail {
    /// Parses an email address (one `@`, a dotted domain, no spaces).
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, InvalidInput> {
        let value = raw.trim();
        let ok = match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && value.len() <= 254
                    && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidInput::new(field, "not a valid email address"))
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn parse_http_url(raw: &str, field: &'static str) -> Result<Url, InvalidInput> {
    let url = Url::parse(raw.trim())
        .map_err(|e| InvalidInput::new(field, format!("not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(InvalidInput::new(field, "the URL must start with https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(InvalidInput::new(field, "the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(InvalidInput::new(
            field,
            "the URL must not contain credentials; pass the token separately",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(InvalidInput::new(
            field,
            "the URL must not have a query or fragment",
        ));
    }
    Ok(url)
}

fn strip_trailing_slash(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// The base URL of a self-managed GitLab instance, e.g. `https://gitlab.example.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceUrl(Url);

impl InstanceUrl {
    /// Parses an instance URL (a relative URL root such as `https://host/gitlab` is kept).
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let url = parse_http_url(raw, "instanceUrl")?;
        let mut text = strip_trailing_slash(&url);
        if let Some(stripped) = text.strip_suffix("/api/v4") {
            text = stripped.to_owned();
        }
        Url::parse(&text)
            .map(Self)
            .map_err(|e| InvalidInput::new("instanceUrl", format!("not a valid URL: {e}")))
    }

    /// The URL without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// `host[:port][/root]`: how repositories of this instance are identified.
    pub fn identity(&self) -> String {
        url_identity(&self.0)
    }
}

/// Which kind of Azure DevOps organization URL was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AzureHosting {
    /// `https://dev.azure.com/{org}`.
    DevAzure,
    /// `https://{org}.visualstudio.com`.
    VisualStudio,
    /// An Azure DevOps Server collection URL: user-supplied host, SSRF-guarded.
    Server,
}

/// An Azure DevOps organization (or on-premises collection) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationUrl {
    url: Url,
    hosting: AzureHosting,
    organization: String,
}

fn valid_azure_org(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 50
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

impl OrganizationUrl {
    /// Parses `https://dev.azure.com/{org}`, `https://{org}.visualstudio.com` or an on-prem
    /// collection URL such as `https://tfs.example.com/tfs/DefaultCollection`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let field = "organizationUrl";
        let url = parse_http_url(raw, field)?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        let example = "use https://dev.azure.com/<organization>, https://<organization>.visualstudio.com \
                       or your Azure DevOps Server collection URL";
        if host == "dev.azure.com" {
            let [org] = segments.as_slice() else {
                return Err(InvalidInput::new(
                    field,
                    format!("expected one organization name after dev.azure.com: {example}"),
                ));
            };
            if !valid_azure_org(org) || url.scheme() != "https" {
                return Err(InvalidInput::new(
                    field,
                    format!("{org:?} is not a valid organization name: {example}"),
                ));
            }
            return Ok(Self {
                url: Url::parse(&format!("https://dev.azure.com/{org}"))
                    .map_err(|e| InvalidInput::new(field, e.to_string()))?,
                hosting: AzureHosting::DevAzure,
                organization: org.to_string(),
            });
        }
        if let Some(org) = host.strip_suffix(".visualstudio.com") {
            if !segments.is_empty() || !valid_azure_org(org) || url.scheme() != "https" {
                return Err(InvalidInput::new(field, example.to_owned()));
            }
            return Ok(Self {
                url: Url::parse(&format!("https://{org}.visualstudio.com"))
                    .map_err(|e| InvalidInput::new(field, e.to_string()))?,
                hosting: AzureHosting::VisualStudio,
                organization: org.to_owned(),
            });
        }
        let Some(collection) = segments.last() else {
            return Err(InvalidInput::new(
                field,
                format!("an Azure DevOps Server URL must name its collection: {example}"),
            ));
        };
        let organization = collection.to_string();
        let text = strip_trailing_slash(&url);
        Ok(Self {
            url: Url::parse(&text).map_err(|e| InvalidInput::new(field, e.to_string()))?,
            hosting: AzureHosting::Server,
            organization,
        })
    }

    /// The canonical URL without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Cloud or server.
    pub fn hosting(&self) -> AzureHosting {
        self.hosting
    }

    /// The organization (or collection) name.
    pub fn organization(&self) -> &str {
        &self.organization
    }

    /// `dev.azure.com/{org}` for cloud organizations (both URL forms are the same organization),
    /// `host[:port]/path` for servers: how the scope is identified.
    pub fn identity(&self) -> String {
        match self.hosting {
            AzureHosting::DevAzure | AzureHosting::VisualStudio => {
                format!("dev.azure.com/{}", self.organization.to_ascii_lowercase())
            }
            AzureHosting::Server => url_identity(&self.url).to_ascii_lowercase(),
        }
    }
}

/// A GitHub App installation id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallationId(i64);

impl InstallationId {
    /// Parses a positive installation id.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw.trim().parse::<i64>() {
            Ok(id) if id > 0 => Ok(Self(id)),
            _ => Err(InvalidInput::new(
                "installationId",
                "not a GitHub App installation id (a positive number)",
            )),
        }
    }

    /// The numeric id.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// What a connection covers, parsed and ready for its provider's live check.
#[derive(Debug, Clone)]
pub enum Scope {
    /// A GitLab group (with subgroups) on an instance; `instance` is `None` for the configured default.
    GitlabGroup {
        /// A user-supplied self-managed instance, or `None` for the default.
        instance: Option<InstanceUrl>,
        /// The group.
        group: GroupPath,
    },
    /// A Bitbucket Cloud workspace.
    BitbucketWorkspace(WorkspaceId),
    /// An Azure DevOps organization or collection.
    AzureOrganization(OrganizationUrl),
    /// A GitHub App installation.
    GithubInstallation(InstallationId),
}

/// How a scope is identified: unique per organization, and the host its repositories live on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeIdentity {
    /// e.g. `gitlab:gitlab.com:ghost/mygroup`.
    pub key: String,
    /// e.g. `gitlab.com`.
    pub host: String,
}

fn url_identity(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{host}{port}{}", url.path().trim_end_matches('/'))
}

impl Scope {
    /// The scope's identity. Computed from the input alone, so duplicates are caught before
    /// any request; provider paths are case-insensitive, hence the lowercasing.
    pub fn identity(&self, endpoints: &crate::Endpoints) -> ScopeIdentity {
        match self {
            Scope::GitlabGroup { instance, group } => {
                let host = instance
                    .as_ref()
                    .map(InstanceUrl::identity)
                    .unwrap_or_else(|| url_identity(&endpoints.gitlab));
                ScopeIdentity {
                    key: format!("gitlab:{host}:{}", group.as_str().to_ascii_lowercase()),
                    host,
                }
            }
            Scope::BitbucketWorkspace(ws) => ScopeIdentity {
                key: format!("bitbucket:bitbucket.org:{}", ws.as_str()),
                host: "bitbucket.org".to_owned(),
            },
            Scope::AzureOrganization(org) => {
                let host = org.identity();
                ScopeIdentity {
                    key: format!("azure:{}", host.to_ascii_lowercase()),
                    host,
                }
            }
            Scope::GithubInstallation(id) => {
                let host = url_identity(&endpoints.github_web);
                ScopeIdentity {
                    key: format!("github:{host}:installation:{}", id.get()),
                    host,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_paths_follow_gitlab_rules() {
        assert_eq!(
            GroupPath::parse(" /ghost/mygroup/ ").unwrap().as_str(),
            "ghost/mygroup"
        );
        assert!(GroupPath::parse("ghost/sub.group/x_y-z").is_ok());
        for bad in [
            "",
            "/",
            "ghost//x",
            "-ghost",
            "ghost/x.git",
            "gh ost",
            "ghost/é",
            "a/b?c",
            "ghost/.",
        ] {
            let err = GroupPath::parse(bad).unwrap_err();
            assert_eq!(err.field, "groupPath", "{bad}");
        }
    }

    #[test]
    fn workspace_ids_are_slugs() {
        assert_eq!(WorkspaceId::parse(" Ghost ").unwrap().as_str(), "ghost");
        assert!(WorkspaceId::parse("ghost-team_2").is_ok());
        for bad in [
            "",
            "ghost/repo",
            "gh ost",
            "-x",
            "https://bitbucket.org/ghost",
        ] {
            assert_eq!(
                WorkspaceId::parse(bad).unwrap_err().field,
                "workspaceId",
                "{bad}"
            );
        }
    }

    #[test]
    fn azure_organization_urls_take_three_forms() {
        let cloud = OrganizationUrl::parse("https://dev.azure.com/ghost/").unwrap();
        assert_eq!(cloud.as_str(), "https://dev.azure.com/ghost");
        assert_eq!(cloud.hosting(), AzureHosting::DevAzure);
        let vs = OrganizationUrl::parse("https://Ghost.visualstudio.com").unwrap();
        assert_eq!(vs.organization(), "ghost");
        assert_eq!(vs.identity(), cloud.identity());
        let server =
            OrganizationUrl::parse("https://tfs.example.com/tfs/DefaultCollection").unwrap();
        assert_eq!(server.hosting(), AzureHosting::Server);
        assert_eq!(server.organization(), "DefaultCollection");
        for bad in [
            "dev.azure.com/ghost",
            "https://dev.azure.com/",
            "https://dev.azure.com/ghost/project",
            "https://dev.azure.com/gh_ost",
            "https://ghost.visualstudio.com/project",
            "https://tfs.example.com/",
            "ftp://tfs.example.com/x",
            "https://user:pw@dev.azure.com/ghost",
            "https://dev.azure.com/ghost?x=1",
        ] {
            assert_eq!(
                OrganizationUrl::parse(bad).unwrap_err().field,
                "organizationUrl",
                "{bad}"
            );
        }
    }

    #[test]
    fn instance_urls_keep_their_root_and_drop_the_api_suffix() {
        let url = InstanceUrl::parse("https://git.example.com/gitlab/api/v4/").unwrap();
        assert_eq!(url.as_str(), "https://git.example.com/gitlab");
        assert_eq!(url.identity(), "git.example.com/gitlab");
        assert!(InstanceUrl::parse("git.example.com").is_err());
        assert!(InstanceUrl::parse("https://t@git.example.com").is_err());
    }

    #[test]
    fn scope_identities_ignore_case_and_url_form() {
        let endpoints = crate::Endpoints::default();
        let a = Scope::GitlabGroup {
            instance: None,
            group: GroupPath::parse("Ghost/MyGroup").unwrap(),
        };
        let b = Scope::GitlabGroup {
            instance: None,
            group: GroupPath::parse("ghost/mygroup/").unwrap(),
        };
        assert_eq!(a.identity(&endpoints), b.identity(&endpoints));
        assert_eq!(
            a.identity(&endpoints).key,
            "gitlab:gitlab.com:ghost/mygroup"
        );
        let self_hosted = Scope::GitlabGroup {
            instance: Some(InstanceUrl::parse("https://git.example.com:8443").unwrap()),
            group: GroupPath::parse("ghost/mygroup").unwrap(),
        };
        assert_eq!(
            self_hosted.identity(&endpoints).host,
            "git.example.com:8443"
        );
        let dev = Scope::AzureOrganization(
            OrganizationUrl::parse("https://dev.azure.com/Ghost").unwrap(),
        );
        let vs = Scope::AzureOrganization(
            OrganizationUrl::parse("https://ghost.visualstudio.com").unwrap(),
        );
        assert_eq!(dev.identity(&endpoints), vs.identity(&endpoints));
    }

    #[test]
    fn tokens_show_only_a_hint() {
        let token = AccessToken::parse(" glpat-abcdefgh1234 ").unwrap();
        assert_eq!(token.hint(), "…1234");
        assert!(!format!("{token:?}").contains("abcdefgh"));
        assert_eq!(AccessToken::parse("short").unwrap().hint(), "…");
        assert!(AccessToken::parse("").is_err());
        assert!(AccessToken::parse("a b").is_err());
    }

    #[test]
    fn emails_and_installation_ids_parse() {
        assert!(AccountEmail::parse("dev@example.com", "email").is_ok());
        assert!(AccountEmail::parse("dev@example", "email").is_err());
        assert_eq!(InstallationId::parse("42").unwrap().get(), 42);
        assert!(InstallationId::parse("-1").is_err());
    }
}
