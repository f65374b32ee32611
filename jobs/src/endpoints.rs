//! Where the providers are: the endpoints an operator configured (GitHub Enterprise Server, a
//! default GitLab instance, the fake code host in tests).

use url::Url;

/// The provider endpoints an operator configured (overridable for tests and the fake code host).
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// GitHub's REST API, `https://api.github.com`.
    pub github_api: Url,
    /// GitHub's web host, `https://github.com` (identifies GitHub repositories).
    pub github_web: Url,
    /// The default GitLab instance, `https://gitlab.com`.
    pub gitlab: Url,
    /// Bitbucket Cloud's API, `https://api.bitbucket.org`.
    pub bitbucket_api: Url,
    /// Where requests for `dev.azure.com/{org}` and `{org}.visualstudio.com` go instead
    /// (`{url}/{org}`); `None` sends them to Azure DevOps itself.
    pub azure_devops: Option<Url>,
}

impl Default for Endpoints {
    fn default() -> Self {
        let parse = |s: &str| Url::parse(s).unwrap_or_else(|_| unreachable!("constant URL {s}"));
        Self {
            github_api: parse("https://api.github.com"),
            github_web: parse("https://github.com"),
            gitlab: parse("https://gitlab.com"),
            bitbucket_api: parse("https://api.bitbucket.org"),
            azure_devops: None,
        }
    }
}

impl Endpoints {
    /// `host[:port][/path]` of GitHub's web host: how GitHub scopes and repositories are
    /// identified.
    pub fn github_host(&self) -> String {
        crate::scope::input::url_identity(&self.github_web)
    }
}
