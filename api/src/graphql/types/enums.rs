//! GraphQL enums mirroring the entity enums (entities never derive GraphQL traits).

use async_graphql::Enum;

macro_rules! mirror {
    ($(#[$doc:meta])* $name:ident <=> $entity:path { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $(#[allow(missing_docs)] $variant),+ }

        impl From<$entity> for $name {
            fn from(value: $entity) -> Self {
                match value { $(<$entity>::$variant => Self::$variant),+ }
            }
        }

        impl From<$name> for $entity {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => Self::$variant),+ }
            }
        }
    };
}

mirror!(
    /// A source-code provider.
    Provider <=> entities::Provider { Github, Gitlab, Bitbucket, AzureDevops }
);
mirror!(
    /// A connection's health.
    ConnectionStatus <=> entities::ConnectionStatus { Pending, Syncing, Active, Degraded, Unauthorized, Suspended }
);
mirror!(
    /// Whether a repository is still listed by its provider.
    RepositoryState <=> entities::RepositoryState { Active, Gone, Detached }
);
mirror!(
    /// A repository's visibility.
    Visibility <=> entities::Visibility { Public, Private, Internal }
);
mirror!(
    /// A member's role.
    Role <=> entities::Role { Owner, Admin, Member }
);
mirror!(
    /// Session or API token.
    TokenKind <=> entities::TokenKind { Session, Api }
);
mirror!(
    /// Why a discovery run started.
    DiscoveryTrigger <=> entities::DiscoveryTrigger { Created, Schedule, Manual, Webhook, Retry }
);
mirror!(
    /// How a discovery run ended.
    DiscoveryOutcome <=> entities::DiscoveryOutcome { Succeeded, Partial, Failed, Cancelled }
);

/// Discoveries or metadata refreshes.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobLane {
    /// Discovery runs.
    Discovery,
    /// Metadata refreshes.
    Refresh,
}

impl From<jobs::queue::Lane> for JobLane {
    fn from(lane: jobs::queue::Lane) -> Self {
        match lane {
            jobs::queue::Lane::Discovery => Self::Discovery,
            jobs::queue::Lane::Refresh => Self::Refresh,
        }
    }
}

/// What happened to a repository.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepositoryEventKind {
    /// Listed for the first time.
    Added,
    /// Its metadata changed, or it came back.
    Updated,
    /// No longer listed by its provider.
    Gone,
    /// Its connection was deleted.
    Detached,
}

impl From<jobs::events::RepositoryChange> for RepositoryEventKind {
    fn from(change: jobs::events::RepositoryChange) -> Self {
        match change {
            jobs::events::RepositoryChange::Added => Self::Added,
            jobs::events::RepositoryChange::Updated => Self::Updated,
            jobs::events::RepositoryChange::Gone => Self::Gone,
            jobs::events::RepositoryChange::Detached => Self::Detached,
        }
    }
}
