//! DataLoaders: one query per batch instead of one per object.

use crate::state::AppState;
use async_graphql::dataloader::Loader;
use entities::{RepositoryState, connection, repository};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
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

/// Counts active repositories per connection.
pub struct RepositoryCountLoader(pub AppState);

impl Loader<Uuid> for RepositoryCountLoader {
    type Value = i64;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows: Vec<(Option<Uuid>, i64)> = repository::Entity::find()
            .select_only()
            .column(repository::Column::ConnectionId)
            .column_as(repository::Column::Id.count(), "count")
            .filter(repository::Column::ConnectionId.is_in(keys.iter().copied()))
            .filter(repository::Column::State.eq(RepositoryState::Active))
            .group_by(repository::Column::ConnectionId)
            .into_tuple()
            .all(&self.0.db)
            .await
            .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, count)| id.map(|id| (id, count)))
            .collect())
    }
}
