//! Which connections list a repository: one row per (connection, repository). A repository is
//! `ACTIVE` while any of its links is `listed`, `GONE` once every connection that listed it
//! completed a listing without it, and `DETACHED` when it has no link left.

use sea_orm::entity::prelude::*;

/// A link; (connection, repository) is the key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "repository_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub connection_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub repository_id: Uuid,
    /// Whether the connection's listings include the repository.
    pub listed: bool,
    /// When the connection first listed it: a repository's connections come in this order.
    pub linked_at: DateTimeUtc,
}

/// A link joins one connection and one repository.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The linked repository.
    #[sea_orm(
        belongs_to = "super::repository::Entity",
        from = "Column::RepositoryId",
        to = "super::repository::Column::Id"
    )]
    Repository,
    /// The connection that lists it.
    #[sea_orm(
        belongs_to = "super::connection::Entity",
        from = "Column::ConnectionId",
        to = "super::connection::Column::Id"
    )]
    Connection,
}

impl ActiveModelBehavior for ActiveModel {}
