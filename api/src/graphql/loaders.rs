//! DataLoaders: one query per batch instead of one per object.

use crate::state::AppState;
use async_graphql::dataloader::Loader;
use entities::connection;
use entities::repository_connection as link;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// Loads connections by id. Callers only pass ids read from their own organization's rows.
pub struct ConnectionLoader(pub AppState);

impl Loader<Uuid> for ConnectionLoader {
    type Value = connection::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = connection::Entity::find()
            .filter(connection::Column::Id.is_in(keys.iter().copied()))
            .all(&self.0.db)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|c| (c.id, c)).collect())
    }
}

/// Counts the repositories each connection lists.
pub struct RepositoryCountLoader(pub AppState);

impl Loader<Uuid> for RepositoryCountLoader {
    type Value = i64;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows: Vec<(Uuid, i64)> = link::Entity::find()
            .select_only()
            .column(link::Column::ConnectionId)
            .column_as(link::Column::RepositoryId.count(), "count")
            .filter(link::Column::ConnectionId.is_in(keys.iter().copied()))
            .filter(link::Column::Listed.eq(true))
            .group_by(link::Column::ConnectionId)
            .into_tuple()
            .all(&self.0.db)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().collect())
    }
}

/// A repository's connections, in the order they first listed it: those that list it, or for a
/// repository no connection lists any more, those that listed it last.
pub struct RepositoryConnectionsLoader(pub AppState);

impl Loader<Uuid> for RepositoryConnectionsLoader {
    type Value = Vec<Uuid>;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows: Vec<(Uuid, Uuid, bool)> = link::Entity::find()
            .select_only()
            .column(link::Column::RepositoryId)
            .column(link::Column::ConnectionId)
            .column(link::Column::Listed)
            .filter(link::Column::RepositoryId.is_in(keys.iter().copied()))
            .order_by_asc(link::Column::LinkedAt)
            .order_by_asc(link::Column::ConnectionId)
            .into_tuple()
            .all(&self.0.db)
            .await
            .map_err(Arc::new)?;
        let mut links: HashMap<Uuid, Vec<(Uuid, bool)>> = HashMap::new();
        for (repository, connection, listed) in rows {
            links
                .entry(repository)
                .or_default()
                .push((connection, listed));
        }
        Ok(links
            .into_iter()
            .map(|(repository, links)| {
                let any_listed = links.iter().any(|(_, listed)| *listed);
                let connections = links
                    .into_iter()
                    .filter(|(_, listed)| *listed || !any_listed)
                    .map(|(connection, _)| connection)
                    .collect();
                (repository, connections)
            })
            .collect())
    }
}
