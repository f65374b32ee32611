//! GitHub's settings: the Tether GitHub App (id, slug, private key), its OAuth client (linking
//! accounts), its webhook secret, and Tether's own public and frontend URLs the browser flows
//! need. Each part is optional: what is missing switches its part of the flow off, and startup
//! says which settings are missing.

use super::{ConfigError, RawSettings, bad};
use jobs::providers::{GitHubApp, GitHubAppCredentials};
use secrecy::SecretString;
use std::sync::Arc;
use url::Url;

/// The GitHub App's OAuth client, for linking users' GitHub accounts.
#[derive(Clone)]
pub struct OAuthClient {
    /// `TETHER_GITHUB_CLIENT_ID`.
    pub client_id: String,
    /// `TETHER_GITHUB_CLIENT_SECRET`.
    pub client_secret: SecretString,
}

impl OAuthClient {
    /// The credentials as the GitHub client sends them.
    pub fn client(&self) -> jobs::providers::github::OAuthClient<'_> {
        jobs::providers::github::OAuthClient {
            id: &self.client_id,
            secret: &self.client_secret,
        }
    }
}

/// Everything GitHub-related, validated.
#[derive(Clone, Default)]
pub struct GitHubSettings {
    /// The app, its private key parsed (listing installations).
    pub app: Option<Arc<GitHubApp>>,
    /// The app's URL name (the install link).
    pub app_slug: Option<String>,
    /// The app's OAuth client (linking accounts).
    pub oauth: Option<OAuthClient>,
    /// The secret webhook deliveries are signed with.
    pub webhook_secret: Option<SecretString>,
    /// Tether's own base URL (OAuth redirect, setup URL, webhook URL).
    pub public_url: Option<Url>,
    /// Where browser flows end.
    pub frontend_url: Option<Url>,
}

impl std::fmt::Debug for GitHubSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubSettings")
            .field("app", &self.app)
            .field("app_slug", &self.app_slug)
            .field("oauth", &self.oauth.as_ref().map(|o| &o.client_id))
            .field("webhook_secret", &self.webhook_secret.is_some())
            .field("public_url", &self.public_url)
            .field("frontend_url", &self.frontend_url)
            .finish()
    }
}

impl GitHubSettings {
    /// Which of `needs` are not set.
    pub fn missing_of(&self, needs: &[&[&str]]) -> Vec<&'static str> {
        self.missing()
            .into_iter()
            .filter(|name| needs.iter().any(|group| group.contains(name)))
            .collect()
    }

    /// The settings the whole GitHub flow needs that are not set, by variable name.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            (self.app.is_none(), "TETHER_GITHUB_APP_ID"),
            (self.app.is_none(), "TETHER_GITHUB_APP_PRIVATE_KEY_FILE"),
            (self.app_slug.is_none(), "TETHER_GITHUB_APP_SLUG"),
            (self.oauth.is_none(), "TETHER_GITHUB_CLIENT_ID"),
            (self.oauth.is_none(), "TETHER_GITHUB_CLIENT_SECRET"),
            (
                self.webhook_secret.is_none(),
                "TETHER_GITHUB_WEBHOOK_SECRET",
            ),
            (self.public_url.is_none(), "TETHER_PUBLIC_URL"),
            (self.frontend_url.is_none(), "TETHER_FRONTEND_URL"),
        ]
        .into_iter()
        .filter_map(|(missing, name)| missing.then_some(name))
        .collect()
    }
}

/// What linking an account needs.
pub const LINK_NEEDS: &[&str] = &[
    "TETHER_GITHUB_CLIENT_ID",
    "TETHER_GITHUB_CLIENT_SECRET",
    "TETHER_PUBLIC_URL",
    "TETHER_FRONTEND_URL",
];
/// What the app itself needs (listing installations).
pub const APP_NEEDS: &[&str] = &["TETHER_GITHUB_APP_ID", "TETHER_GITHUB_APP_PRIVATE_KEY_FILE"];
/// What installing the app needs besides linking and the app.
pub const INSTALL_NEEDS: &[&str] = &["TETHER_GITHUB_APP_SLUG"];

/// A setting's trimmed value, `None` when unset or blank.
fn set(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// An absolute http(s) base URL without a trailing slash.
fn base_url(setting: &str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value.trim_end_matches('/'))
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .filter(|u| u.query().is_none() && u.fragment().is_none())
        .ok_or_else(|| bad(setting, format!("{value:?} is not an http(s) base URL")))?;
    Ok(url)
}

/// Validates GitHub's settings.
pub(super) fn from_raw(raw: &RawSettings) -> Result<GitHubSettings, ConfigError> {
    let app = app(raw)?;
    let app_slug = set(&raw.github_app_slug)
        .map(|slug| {
            let ok = slug.len() <= 100
                && slug
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            ok.then(|| slug.to_owned()).ok_or_else(|| {
                bad(
                    "TETHER_GITHUB_APP_SLUG",
                    "use the app's URL name, e.g. tether-acme",
                )
            })
        })
        .transpose()?;
    let oauth = match (set(&raw.github_client_id), set(&raw.github_client_secret)) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(bad(
                "TETHER_GITHUB_CLIENT_SECRET",
                "required with TETHER_GITHUB_CLIENT_ID",
            ));
        }
        (None, Some(_)) => {
            return Err(bad(
                "TETHER_GITHUB_CLIENT_ID",
                "required with TETHER_GITHUB_CLIENT_SECRET",
            ));
        }
        (Some(id), Some(secret)) => Some(OAuthClient {
            client_id: id.to_owned(),
            client_secret: SecretString::from(secret.to_owned()),
        }),
    };
    Ok(GitHubSettings {
        app,
        app_slug,
        oauth,
        webhook_secret: set(&raw.github_webhook_secret).map(|s| SecretString::from(s.to_owned())),
        public_url: set(&raw.public_url)
            .map(|u| base_url("TETHER_PUBLIC_URL", u))
            .transpose()?,
        frontend_url: set(&raw.frontend_url)
            .map(|u| base_url("TETHER_FRONTEND_URL", u))
            .transpose()?,
    })
}

/// The GitHub App's id and key: both or neither, and the key (PKCS#1 or PKCS#8 PEM) must parse.
fn app(raw: &RawSettings) -> Result<Option<Arc<GitHubApp>>, ConfigError> {
    let key = match (
        set(&raw.github_app_private_key),
        set(&raw.github_app_private_key_file),
    ) {
        (Some(_), _) => raw.github_app_private_key.clone().map(SecretString::from),
        (_, Some(path)) => {
            let pem = std::fs::read_to_string(path).map_err(|e| {
                bad(
                    "TETHER_GITHUB_APP_PRIVATE_KEY_FILE",
                    format!("cannot read {path}: {e}"),
                )
            })?;
            Some(SecretString::from(pem))
        }
        _ => None,
    };
    match (set(&raw.github_app_id), key) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(bad(
            "TETHER_GITHUB_APP_PRIVATE_KEY_FILE",
            "required with TETHER_GITHUB_APP_ID",
        )),
        (None, Some(_)) => Err(bad(
            "TETHER_GITHUB_APP_ID",
            "required with the app's private key",
        )),
        (Some(id), Some(private_key)) => {
            let credentials = GitHubAppCredentials {
                app_id: id.to_owned(),
                private_key,
            };
            // Parsed once, here: a key that does not parse stops Tether naming the setting.
            let app = GitHubApp::new(&credentials)
                .map_err(|e| bad("TETHER_GITHUB_APP_PRIVATE_KEY_FILE", e.to_string()))?;
            Ok(Some(Arc::new(app)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_set_is_valid_and_everything_is_missing() {
        let github = from_raw(&RawSettings::default()).unwrap();
        assert_eq!(github.missing().len(), 8);
        assert!(github.missing().contains(&"TETHER_PUBLIC_URL"));
    }

    #[test]
    fn oauth_needs_both_halves_and_urls_must_be_absolute() {
        let raw = RawSettings {
            github_client_id: Some("Iv1.abc".into()),
            ..RawSettings::default()
        };
        assert_eq!(
            from_raw(&raw).err().map(|e| e.setting),
            Some("TETHER_GITHUB_CLIENT_SECRET".into())
        );
        let raw = RawSettings {
            github_client_id: Some("Iv1.abc".into()),
            github_client_secret: Some("shh".into()),
            public_url: Some("https://tether.example.com/".into()),
            frontend_url: Some("tether.example.com".into()),
            ..RawSettings::default()
        };
        assert_eq!(
            from_raw(&raw).err().map(|e| e.setting),
            Some("TETHER_FRONTEND_URL".into())
        );
        let raw = RawSettings {
            frontend_url: Some("https://app.example.com".into()),
            github_app_slug: Some("tether-acme".into()),
            ..raw
        };
        let github = from_raw(&raw).unwrap();
        assert_eq!(
            github.public_url.unwrap().as_str(),
            "https://tether.example.com/"
        );
        assert!(!format!("{:?}", from_raw(&raw).unwrap()).contains("shh"));
    }

    #[test]
    fn an_app_id_without_a_key_names_the_key_file() {
        let raw = RawSettings {
            github_app_id: Some("123".into()),
            ..RawSettings::default()
        };
        assert_eq!(
            from_raw(&raw).err().map(|e| e.setting),
            Some("TETHER_GITHUB_APP_PRIVATE_KEY_FILE".into())
        );
    }
}
