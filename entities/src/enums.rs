//! The closed sets of values stored as short strings, so both SQLite and PostgreSQL keep them readably.

use sea_orm::entity::prelude::*;

/// A source-code provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Provider {
    /// GitHub (through the Tether GitHub App).
    #[sea_orm(string_value = "GITHUB")]
    Github,
    /// GitLab.com or a self-managed GitLab instance.
    #[sea_orm(string_value = "GITLAB")]
    Gitlab,
    /// Bitbucket Cloud.
    #[sea_orm(string_value = "BITBUCKET")]
    Bitbucket,
    /// Azure DevOps Services or Server.
    #[sea_orm(string_value = "AZURE_DEVOPS")]
    AzureDevops,
}

/// A connection's health, as users see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ConnectionStatus {
    /// Saved, first discovery not yet started (or waiting for an installation approval).
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// A discovery is running.
    #[sea_orm(string_value = "SYNCING")]
    Syncing,
    /// The last discovery succeeded.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// The last run was partial or hit transient failures.
    #[sea_orm(string_value = "DEGRADED")]
    Degraded,
    /// The credential was revoked, expired or lacks permissions: needs the user.
    #[sea_orm(string_value = "UNAUTHORIZED")]
    Unauthorized,
    /// The GitHub App was uninstalled or suspended.
    #[sea_orm(string_value = "SUSPENDED")]
    Suspended,
}

/// Whether a repository is still listed by its provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum RepositoryState {
    /// Listed by at least one of its organization's connections.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// Every connection that listed it completed a listing without it.
    #[sea_orm(string_value = "GONE")]
    Gone,
    /// Every connection that covered it was deleted; kept with its findings.
    #[sea_orm(string_value = "DETACHED")]
    Detached,
}

/// A repository's visibility on its provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Visibility {
    /// Anyone can read it.
    #[sea_orm(string_value = "PUBLIC")]
    Public,
    /// Only granted users can read it.
    #[sea_orm(string_value = "PRIVATE")]
    Private,
    /// Anyone in the provider's enterprise or instance can read it.
    #[sea_orm(string_value = "INTERNAL")]
    Internal,
}

/// A member's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum Role {
    /// Reads everything in the organization.
    #[sea_orm(string_value = "MEMBER")]
    Member,
    /// Also manages connections.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    /// Also manages members.
    #[sea_orm(string_value = "OWNER")]
    Owner,
}

/// What a bearer token was issued as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum TokenKind {
    /// Issued by `login`/`signUp`, ended by `logout`.
    #[sea_orm(string_value = "SESSION")]
    Session,
    /// Issued by `createApiToken` for scripts and services.
    #[sea_orm(string_value = "API")]
    Api,
}

/// Why a discovery run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum DiscoveryTrigger {
    /// The connection was just created.
    #[sea_orm(string_value = "CREATED")]
    Created,
    /// The adaptive schedule found it due.
    #[sea_orm(string_value = "SCHEDULE")]
    Schedule,
    /// A user asked for it.
    #[sea_orm(string_value = "MANUAL")]
    Manual,
    /// A provider webhook announced a change.
    #[sea_orm(string_value = "WEBHOOK")]
    Webhook,
    /// Someone retried a failed run.
    #[sea_orm(string_value = "RETRY")]
    Retry,
}

/// How a discovery run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum DiscoveryOutcome {
    /// The whole scope was listed without error.
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    /// Cut short or with issues; nothing was marked gone.
    #[sea_orm(string_value = "PARTIAL")]
    Partial,
    /// Nothing useful was listed.
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// Someone cancelled it; what it listed is kept, nothing was marked gone.
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}
