//! GitHub App webhooks: the signature every delivery carries ([`verify`]) and the events Tether
//! acts on, parsed into typed values. A delivery is untrusted input until its signature verifies,
//! and of a shape Tether may not expect even after: only the fields Tether reads are declared
//! (GitHub's payloads vary in the rest, `created_at` is a number in some and a string in others),
//! nothing here panics, and events or actions Tether does not act on parse to
//! [`Event::Ignored`], to be acknowledged and left alone.

mod events;
mod payloads;
mod signature;

pub use super::GitHubUser;
pub use events::{
    AnnouncedRepository, Ignored, InstallationAction, InstallationEvent, PushEvent,
    RepositoriesAction, RepositoriesEvent, RepositoryAction, RepositoryChange, RepositoryEvent,
};
pub use signature::{SIGNATURE_HEADER, SignatureError, verify};

use serde::de::DeserializeOwned;

/// The largest body Tether reads. GitHub caps payloads at 25 MB, but the events Tether acts on
/// are far smaller; a larger push (thousands of commits) is refused, and its head commit arrives
/// with the next metadata refresh instead.
pub const MAX_BODY: usize = 5 * 1024 * 1024;
/// The header naming the event.
pub const EVENT_HEADER: &str = "X-GitHub-Event";
/// The header identifying the event's delivery; a redelivery repeats it.
pub const DELIVERY_HEADER: &str = "X-GitHub-Delivery";

/// An `X-GitHub-Delivery` id: GitHub sends a GUID; anything of 1 to 128 visible ASCII characters
/// (what the delivery record holds) is accepted, so a format change upstream does not refuse
/// deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryId(String);

impl DeliveryId {
    /// Reads the raw header value.
    pub fn parse(raw: &[u8]) -> Option<Self> {
        let fits = (1..=128).contains(&raw.len()) && raw.iter().all(u8::is_ascii_graphic);
        fits.then(|| Self(String::from_utf8_lossy(raw).into_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A delivery, as Tether acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `installation`: the app was installed, uninstalled, suspended…
    Installation(InstallationEvent),
    /// `installation_repositories`: repositories were added to or removed from an installation.
    Repositories(RepositoriesEvent),
    /// `repository`: one repository changed.
    Repository(RepositoryEvent),
    /// `push` to a repository's default branch.
    Push(PushEvent),
    /// Anything else: acknowledged, nothing done.
    Ignored(Ignored),
}

impl Event {
    /// `event.action`, as deliveries are recorded and logged.
    pub fn label(&self) -> String {
        match self {
            Self::Installation(e) => format!("installation.{}", e.action.as_str()),
            Self::Repositories(e) => format!("installation_repositories.{}", e.action.as_str()),
            Self::Repository(e) => format!("repository.{}", e.action.as_str()),
            Self::Push(_) => "push".to_owned(),
            Self::Ignored(ignored) => ignored.label(),
        }
    }
}

/// A payload of an event Tether acts on that does not have the shape GitHub documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {event} payload does not have the shape GitHub documents: {reason}")]
pub struct PayloadError {
    /// The event (`X-GitHub-Event`).
    pub event: &'static str,
    /// What did not parse (may quote the payload: for logs).
    pub reason: String,
}

impl PayloadError {
    fn new(event: &'static str, reason: impl Into<String>) -> Self {
        Self {
            event,
            reason: reason.into(),
        }
    }
}

fn decode<T: DeserializeOwned>(event: &'static str, body: &[u8]) -> Result<T, PayloadError> {
    serde_json::from_slice(body).map_err(|e| PayloadError::new(event, e.to_string()))
}

/// Parses a verified delivery of `event` (the `X-GitHub-Event` header).
pub fn parse(event: &str, body: &[u8]) -> Result<Event, PayloadError> {
    match event {
        "installation" => payloads::installation(body),
        "installation_repositories" => payloads::repositories(body),
        "repository" => payloads::repository(body),
        "push" => payloads::push(body),
        other => Ok(Event::Ignored(Ignored::new(other, None))),
    }
}

#[cfg(test)]
mod tests;
