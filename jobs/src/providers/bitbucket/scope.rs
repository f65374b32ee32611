//! A Bitbucket Cloud scope: a workspace.

use crate::endpoints::Endpoints;
use crate::scope::input::InvalidInput;
use crate::scope::{ProviderScope, ScopeColumns, ScopeFields, ScopeIdentity};
use entities::Provider;

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

impl ProviderScope for WorkspaceId {
    const PROVIDER: Provider = Provider::Bitbucket;

    fn identity(&self, _: &Endpoints) -> ScopeIdentity {
        ScopeIdentity {
            key: format!("bitbucket:bitbucket.org:{}", self.as_str()),
            host: "bitbucket.org".to_owned(),
        }
    }

    fn fields(&self) -> ScopeFields {
        ScopeFields {
            scope: "workspaceId",
            url: None,
        }
    }

    fn to_columns(&self) -> ScopeColumns {
        ScopeColumns {
            workspace_id: Some(self.as_str().to_owned()),
            ..ScopeColumns::default()
        }
    }

    fn from_columns(columns: &ScopeColumns) -> Result<Self, InvalidInput> {
        Self::parse(columns.workspace_id.as_deref().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
