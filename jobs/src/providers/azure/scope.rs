//! An Azure DevOps scope: a cloud organization, or an Azure DevOps Server collection.

use crate::endpoints::Endpoints;
use crate::scope::input::{InvalidInput, parse_http_url, strip_trailing_slash, url_identity};
use crate::scope::{ProviderScope, ScopeColumns, ScopeFields, ScopeIdentity};
use entities::Provider;
use url::Url;

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
    pub fn host_identity(&self) -> String {
        match self.hosting {
            AzureHosting::DevAzure | AzureHosting::VisualStudio => {
                format!("dev.azure.com/{}", self.organization.to_ascii_lowercase())
            }
            AzureHosting::Server => url_identity(&self.url).to_ascii_lowercase(),
        }
    }
}

impl ProviderScope for OrganizationUrl {
    const PROVIDER: Provider = Provider::AzureDevops;

    fn identity(&self, _: &Endpoints) -> ScopeIdentity {
        let host = self.host_identity();
        ScopeIdentity {
            key: format!("azure:{}", host.to_ascii_lowercase()),
            host,
        }
    }

    fn fields(&self) -> ScopeFields {
        ScopeFields {
            scope: "organizationUrl",
            url: Some("organizationUrl"),
        }
    }

    fn to_columns(&self) -> ScopeColumns {
        ScopeColumns {
            organization_url: Some(self.as_str().to_owned()),
            ..ScopeColumns::default()
        }
    }

    fn from_columns(columns: &ScopeColumns) -> Result<Self, InvalidInput> {
        Self::parse(columns.organization_url.as_deref().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_organization_urls_take_three_forms() {
        let cloud = OrganizationUrl::parse("https://dev.azure.com/ghost/").unwrap();
        assert_eq!(cloud.as_str(), "https://dev.azure.com/ghost");
        assert_eq!(cloud.hosting(), AzureHosting::DevAzure);
        let vs = OrganizationUrl::parse("https://Ghost.visualstudio.com").unwrap();
        assert_eq!(vs.organization(), "ghost");
        assert_eq!(vs.host_identity(), cloud.host_identity());
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
    fn both_cloud_url_forms_are_one_scope() {
        let endpoints = Endpoints::default();
        let dev = OrganizationUrl::parse("https://dev.azure.com/Ghost").unwrap();
        let vs = OrganizationUrl::parse("https://ghost.visualstudio.com").unwrap();
        assert_eq!(
            ProviderScope::identity(&dev, &endpoints),
            ProviderScope::identity(&vs, &endpoints)
        );
    }
}
