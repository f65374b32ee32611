//! A GitLab scope: a group (subgroups included) on gitlab.com or a self-managed instance.

use crate::endpoints::Endpoints;
use crate::scope::input::{InvalidInput, parse_http_url, strip_trailing_slash, url_identity};
use crate::scope::{ProviderScope, ScopeColumns, ScopeFields, ScopeIdentity};
use entities::Provider;
use url::Url;

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

/// A GitLab group on an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitlabGroup {
    /// A user-supplied self-managed instance, or `None` for the configured default.
    pub instance: Option<InstanceUrl>,
    /// The group.
    pub group: GroupPath,
}

impl ProviderScope for GitlabGroup {
    const PROVIDER: Provider = Provider::Gitlab;

    /// Provider paths are case-insensitive, hence the lowercasing.
    fn identity(&self, endpoints: &Endpoints) -> ScopeIdentity {
        let host = self
            .instance
            .as_ref()
            .map(InstanceUrl::identity)
            .unwrap_or_else(|| url_identity(&endpoints.gitlab));
        ScopeIdentity {
            key: format!("gitlab:{host}:{}", self.group.as_str().to_ascii_lowercase()),
            host,
        }
    }

    fn fields(&self) -> ScopeFields {
        ScopeFields {
            scope: "groupPath",
            url: self.instance.as_ref().map(|_| "instanceUrl"),
        }
    }

    fn to_columns(&self) -> ScopeColumns {
        ScopeColumns {
            group_path: Some(self.group.as_str().to_owned()),
            instance_url: self.instance.as_ref().map(|i| i.as_str().to_owned()),
            ..ScopeColumns::default()
        }
    }

    fn from_columns(columns: &ScopeColumns) -> Result<Self, InvalidInput> {
        Ok(Self {
            instance: columns
                .instance_url
                .as_deref()
                .map(InstanceUrl::parse)
                .transpose()?,
            group: GroupPath::parse(columns.group_path.as_deref().unwrap_or_default())?,
        })
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
    fn instance_urls_keep_their_root_and_drop_the_api_suffix() {
        let url = InstanceUrl::parse("https://git.example.com/gitlab/api/v4/").unwrap();
        assert_eq!(url.as_str(), "https://git.example.com/gitlab");
        assert_eq!(url.identity(), "git.example.com/gitlab");
        assert!(InstanceUrl::parse("git.example.com").is_err());
        assert!(InstanceUrl::parse("https://t@git.example.com").is_err());
    }

    #[test]
    fn group_identities_ignore_case_and_name_the_instance() {
        let endpoints = Endpoints::default();
        let scope = |instance: Option<&str>, group: &str| GitlabGroup {
            instance: instance.map(|i| InstanceUrl::parse(i).unwrap()),
            group: GroupPath::parse(group).unwrap(),
        };
        let a = scope(None, "Ghost/MyGroup");
        assert_eq!(
            a.identity(&endpoints),
            scope(None, "ghost/mygroup/").identity(&endpoints)
        );
        assert_eq!(
            a.identity(&endpoints).key,
            "gitlab:gitlab.com:ghost/mygroup"
        );
        let self_hosted = scope(Some("https://git.example.com:8443"), "ghost/mygroup");
        assert_eq!(
            self_hosted.identity(&endpoints).host,
            "git.example.com:8443"
        );
        assert_eq!(
            GitlabGroup::from_columns(&self_hosted.to_columns()).unwrap(),
            self_hosted
        );
    }
}
