//! A GitHub scope: an installation of the Tether GitHub App.

use crate::endpoints::Endpoints;
use crate::scope::input::InvalidInput;
use crate::scope::{ProviderScope, ScopeColumns, ScopeFields, ScopeIdentity};
use entities::Provider;

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

    /// An id GitHub sent (a webhook payload's `installation.id`), if positive.
    pub fn new(id: i64) -> Option<Self> {
        (id > 0).then_some(Self(id))
    }

    /// The numeric id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl ProviderScope for InstallationId {
    const PROVIDER: Provider = Provider::Github;

    fn identity(&self, endpoints: &Endpoints) -> ScopeIdentity {
        let host = endpoints.github_host();
        ScopeIdentity {
            key: format!("github:{host}:installation:{}", self.get()),
            host,
        }
    }

    fn fields(&self) -> ScopeFields {
        ScopeFields {
            scope: "installationId",
            url: None,
        }
    }

    fn to_columns(&self) -> ScopeColumns {
        ScopeColumns {
            installation_id: Some(self.get()),
            ..ScopeColumns::default()
        }
    }

    fn from_columns(columns: &ScopeColumns) -> Result<Self, InvalidInput> {
        Self::parse(&columns.installation_id.unwrap_or_default().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installation_ids_are_positive_numbers() {
        assert_eq!(InstallationId::parse("42").unwrap().get(), 42);
        assert!(InstallationId::parse("-1").is_err());
        assert!(InstallationId::parse("0").is_err());
        assert!(InstallationId::parse("x").is_err());
        assert_eq!(InstallationId::new(42).map(InstallationId::get), Some(42));
        assert_eq!(InstallationId::new(0), None);
    }
}
