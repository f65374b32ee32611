//! Global object ids (`base64url("Connection:<uuid>")`) and opaque pagination cursors.

use super::errors::ApiError;
use async_graphql::ID;
use async_graphql::connection::CursorType;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// The kinds of objects with global ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A connection.
    Connection,
    /// A repository.
    Repository,
    /// A finding.
    Finding,
    /// An organization.
    Organization,
    /// A user.
    User,
    /// An API token.
    ApiToken,
    /// A linked account.
    LinkedAccount,
    /// A discovery run.
    DiscoveryRun,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Connection => "Connection",
            Kind::Repository => "Repository",
            Kind::Finding => "Finding",
            Kind::Organization => "Organization",
            Kind::User => "User",
            Kind::ApiToken => "ApiToken",
            Kind::LinkedAccount => "LinkedAccount",
            Kind::DiscoveryRun => "DiscoveryRun",
        }
    }

    const ALL: [Kind; 8] = [
        Kind::Connection,
        Kind::Repository,
        Kind::Finding,
        Kind::Organization,
        Kind::User,
        Kind::ApiToken,
        Kind::LinkedAccount,
        Kind::DiscoveryRun,
    ];
}

/// Encodes a global id.
pub fn encode(kind: Kind, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.name())))
}

/// Decodes any global id.
pub fn decode_any(id: &ID) -> Option<(Kind, Uuid)> {
    let raw = URL_SAFE_NO_PAD
        .decode(id.as_str().trim_end_matches('='))
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (name, uuid) = text.split_once(':')?;
    let kind = Kind::ALL.into_iter().find(|k| k.name() == name)?;
    Some((kind, Uuid::parse_str(uuid).ok()?))
}

/// Decodes a global id of one kind; anything else is NOT_FOUND, like a foreign id.
pub fn decode(id: &ID, kind: Kind) -> Result<Uuid, ApiError> {
    match decode_any(id) {
        Some((k, uuid)) if k == kind => Ok(uuid),
        _ => Err(ApiError::NotFound),
    }
}

/// A cursor: the row id (ids are time-ordered, and rows are listed by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdCursor(pub Uuid);

impl CursorType for IdCursor {
    type Error = ApiCursorError;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| ApiCursorError)?;
        let text = String::from_utf8(raw).map_err(|_| ApiCursorError)?;
        let uuid = text.strip_prefix("c:").ok_or(ApiCursorError)?;
        Uuid::parse_str(uuid)
            .map(IdCursor)
            .map_err(|_| ApiCursorError)
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("c:{}", self.0))
    }
}

/// A cursor that is not one of ours.
#[derive(Debug)]
pub struct ApiCursorError;

impl std::fmt::Display for ApiCursorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid cursor")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_keep_their_kind() {
        let uuid = Uuid::now_v7();
        let id = encode(Kind::Connection, uuid);
        assert_eq!(decode(&id, Kind::Connection).unwrap(), uuid);
        assert!(decode(&id, Kind::Repository).is_err());
        assert!(decode(&ID("garbage".into()), Kind::Connection).is_err());
        let cursor = IdCursor(uuid);
        assert_eq!(
            IdCursor::decode_cursor(&cursor.encode_cursor()).unwrap(),
            cursor
        );
        assert!(IdCursor::decode_cursor("bm9wZQ").is_err());
    }
}
