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
