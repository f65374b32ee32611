//! Users, organizations, tokens, linked accounts and the viewer.

use super::enums::{Provider, Role, TokenKind};
use crate::graphql::ids::{Kind, encode};
use async_graphql::{ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{api_token, linked_account, organization, user};

/// A person.
pub struct UserNode(pub user::Model);

#[Object(name = "User")]
impl UserNode {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::User, self.0.id)
    }
    /// Email address.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// When they signed up.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The tenant.
pub struct OrganizationNode(pub organization::Model);

#[Object(name = "Organization")]
impl OrganizationNode {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::Organization, self.0.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A session or API token's metadata (the token itself is shown once, at creation).
pub struct ApiTokenNode(pub api_token::Model);

#[Object(name = "ApiToken")]
impl ApiTokenNode {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::ApiToken, self.0.id)
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Session or API token.
    async fn kind(&self) -> TokenKind {
        self.0.kind.into()
    }
    /// Created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Stops working at.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// Revoked at.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// Last used (to the minute).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
}

/// A user's identity on a provider.
pub struct LinkedAccountNode(pub linked_account::Model);

#[Object(name = "LinkedAccount")]
impl LinkedAccountNode {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::LinkedAccount, self.0.id)
    }
    /// Provider.
    async fn provider(&self) -> Provider {
        self.0.provider.into()
    }
    /// Login on the provider.
    async fn login(&self) -> &str {
        &self.0.login
    }
    /// The provider's stable id of the account.
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    /// The provider's avatar image.
    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_deref()
    }
    /// Linked at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The caller: who, in which organization, with which role.
#[derive(SimpleObject)]
#[graphql(name = "Viewer")]
pub struct ViewerNode {
    /// The user.
    pub user: UserNode,
    /// The organization the token acts in.
    pub organization: OrganizationNode,
    /// The user's role there.
    pub role: Role,
}
