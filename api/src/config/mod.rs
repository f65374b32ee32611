//! Layered configuration: embedded defaults, then `tether.toml` (or `TETHER_CONFIG`), then
//! `TETHER_*` environment variables. [`RawSettings`] is what people write; [`Settings`] is what the
//! rest of the program sees, validated at start with an error that names the setting.

pub mod github;
mod raw;
mod settings;
mod validate;

pub use github::{GitHubSettings, OAuthClient};
pub use raw::RawSettings;
pub use settings::{
    DatabaseUrl, GraphqlLimits, JobSettings, KeySource, LogSettings, Settings, redacted,
};

/// A setting that is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {setting}: {message}")]
pub struct ConfigError {
    /// The environment variable that carries the setting.
    pub setting: String,
    /// What is wrong.
    pub message: String,
}

/// A [`ConfigError`] on `setting`.
fn bad(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.to_owned(),
        message: message.into(),
    }
}
