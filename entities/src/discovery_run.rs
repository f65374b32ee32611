//! One execution of discovery against one connection, with its counters and issues.

use crate::{DiscoveryOutcome, DiscoveryTrigger, Provider};
use sea_orm::entity::prelude::*;

/// A discovery-run row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "discovery_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// `None` once the connection is deleted; the history stays.
    pub connection_id: Option<Uuid>,
    /// The connection's provider (whose queue ran it); `None` for runs recorded before it was.
    pub provider: Option<Provider>,
    pub trigger: DiscoveryTrigger,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub outcome: Option<DiscoveryOutcome>,
    pub added: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub gone: i64,
    pub api_requests: i64,
    pub rate_limit_waits: i64,
    /// A JSON array of `{code, message, subject}`.
    pub issues: Json,
}

/// Runs are read per connection.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
