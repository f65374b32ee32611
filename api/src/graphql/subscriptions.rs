//! Live subscriptions over the event bus, each held to the subscriber's organization before
//! anything else is looked at. Events are hints: a subscriber that falls behind skips ahead,
//! and a client that reconnects catches up through `discoveryRuns` and `connections`.

use super::context::{state, viewer};
use super::errors::{ApiError, ApiResult};
use super::ids::{self, Kind, encode};
use super::types::enums::{DiscoveryOutcome, RepositoryEventKind};
use super::types::{ConnectionNode, DiscoveryRunNode, RepositoryNode, int};
use crate::auth::Viewer;
use crate::services::{connections, discovery_runs};
use crate::state::AppState;
use async_graphql::{Context, ID, Object, Subscription};
use chrono::{DateTime, Utc};
use entities::{connection, repository};
use futures::{Stream, StreamExt, stream};
use jobs::events::{Event, Message, Progress, RepositoryChange};
use sea_orm::{ActiveEnum, ColumnTrait, QueryFilter};
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

/// All subscriptions.
#[derive(Default)]
pub struct SubscriptionRoot;

/// The organization's events from now on, in order; a lagging subscriber skips what it missed.
fn events_of(state: &AppState, organization: Uuid) -> impl Stream<Item = Event> + use<> {
    let receiver = state.events.subscribe();
    stream::unfold(
        receiver,
        |mut receiver: broadcast::Receiver<Arc<Message>>| async move {
            loop {
                match receiver.recv().await {
                    Ok(message) => return Some((message, receiver)),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "a live subscriber fell behind and skipped ahead");
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    )
    .filter(move |message| std::future::ready(message.organization_id == organization))
    .flat_map(|message| stream::iter(message.events.clone()))
}

/// `id` decoded, and checked to be one of the viewer's connections.
async fn own_connection(state: &AppState, viewer: &Viewer, id: &ID) -> ApiResult<Uuid> {
    let id = ids::decode(id, Kind::Connection)?;
    connections::find(state, viewer, id).await?;
    Ok(id)
}

#[Subscription]
impl SubscriptionRoot {
    /// A connection as it is after it changed (status, message, schedule, name, credential);
    /// every connection of the organization when `id` is omitted.
    async fn connection_updated(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = ConnectionNode> + use<>> {
        let viewer = viewer(ctx)?.clone();
        let state = state(ctx)?.clone();
        let only = match &id {
            Some(id) => Some(own_connection(&state, &viewer, id).await?),
            None => None,
        };
        let organization = viewer.organization_id;
        let db = state.db.clone();
        Ok(events_of(&state, organization)
            .filter_map(move |event| {
                let wanted = match event {
                    Event::ConnectionChanged { connection_id, .. }
                        if only.is_none_or(|id| id == connection_id) =>
                    {
                        Some(connection_id)
                    }
                    _ => None,
                };
                std::future::ready(wanted)
            })
            .filter_map(move |connection_id| {
                let db = db.clone();
                async move {
                    // The row as it is now: several quick changes may show the same state.
                    connection::Entity::find_in_org_by_id(organization, connection_id)
                        .one(&db)
                        .await
                        .ok()
                        .flatten()
                        .map(ConnectionNode)
                }
            }))
    }

    /// One connection's discovery runs: progress a few times a second, then the end.
    async fn discovery_progress(
        &self,
        ctx: &Context<'_>,
        connection_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = DiscoveryProgress> + use<>> {
        let viewer = viewer(ctx)?.clone();
        let state = state(ctx)?.clone();
        let only = own_connection(&state, &viewer, &connection_id).await?;
        Ok(progress_of(&state, viewer.organization_id)
            .filter(move |p| std::future::ready(p.progress.connection_id == only)))
    }

    /// Every discovery run of the organization: progress and ends (what the dashboard follows).
    async fn discovery_run_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = DiscoveryProgress> + use<>> {
        let viewer = viewer(ctx)?;
        Ok(progress_of(state(ctx)?, viewer.organization_id))
    }

    /// Repositories added, updated, gone or detached; one connection's when `connectionId` is
    /// given.
    async fn repository_events(
        &self,
        ctx: &Context<'_>,
        connection_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = RepositoryEvent> + use<>> {
        let viewer = viewer(ctx)?.clone();
        let state = state(ctx)?.clone();
        let only = match &connection_id {
            Some(id) => Some(own_connection(&state, &viewer, id).await?),
            None => None,
        };
        let organization = viewer.organization_id;
        Ok(events_of(&state, organization).flat_map(move |event| {
            let events = match event {
                Event::Repositories {
                    connection_id,
                    change,
                    repositories,
                } if only.is_none_or(|id| connection_id == Some(id)) => repositories
                    .into_iter()
                    .map(|(id, full_name)| RepositoryEvent {
                        organization,
                        change,
                        repository_id: id,
                        connection_id,
                        full_name,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            stream::iter(events)
        }))
    }
}

fn progress_of(
    state: &AppState,
    organization: Uuid,
) -> impl Stream<Item = DiscoveryProgress> + use<> {
    events_of(state, organization).filter_map(move |event| {
        std::future::ready(match event {
            Event::DiscoveryProgress(progress) => Some(DiscoveryProgress {
                organization,
                progress,
            }),
            _ => None,
        })
    })
}

/// How far a discovery run has come.
pub struct DiscoveryProgress {
    organization: Uuid,
    progress: Progress,
}

#[Object]
impl DiscoveryProgress {
    /// The run.
    async fn run_id(&self) -> ID {
        encode(Kind::DiscoveryRun, self.progress.run_id)
    }
    /// Its connection.
    async fn connection_id(&self) -> ID {
        encode(Kind::Connection, self.progress.connection_id)
    }
    /// When it started.
    async fn started_at(&self) -> DateTime<Utc> {
        self.progress.started_at
    }
    /// New repositories so far.
    async fn added(&self) -> i32 {
        int(self.progress.added)
    }
    /// Changed repositories so far.
    async fn updated(&self) -> i32 {
        int(self.progress.updated)
    }
    /// Repositories already current so far.
    async fn unchanged(&self) -> i32 {
        int(self.progress.unchanged)
    }
    /// Repositories marked gone (only at the end).
    async fn gone(&self) -> i32 {
        int(self.progress.gone)
    }
    /// Provider requests so far.
    async fn api_requests(&self) -> i32 {
        int(self.progress.api_requests)
    }
    /// Whether the run has ended (this is its last event).
    async fn finished(&self) -> bool {
        self.progress.outcome.is_some()
    }
    /// How it ended; null while running.
    async fn outcome(&self) -> Option<DiscoveryOutcome> {
        let stored = self.progress.outcome.as_deref()?;
        entities::DiscoveryOutcome::try_from_value(&stored.to_owned())
            .ok()
            .map(Into::into)
    }
    /// The run's row as it is now (its issues, once it has ended).
    async fn run(&self, ctx: &Context<'_>) -> ApiResult<Option<DiscoveryRunNode>> {
        let state = state(ctx)?;
        match discovery_runs::find_in_org(&state.db, self.organization, self.progress.run_id).await
        {
            Ok(row) => Ok(Some(DiscoveryRunNode(row))),
            Err(ApiError::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// Something that happened to a repository.
pub struct RepositoryEvent {
    organization: Uuid,
    change: RepositoryChange,
    repository_id: Uuid,
    connection_id: Option<Uuid>,
    full_name: String,
}

#[Object]
impl RepositoryEvent {
    /// What happened.
    async fn kind(&self) -> RepositoryEventKind {
        self.change.into()
    }
    /// The repository.
    async fn repository_id(&self) -> ID {
        encode(Kind::Repository, self.repository_id)
    }
    /// Its connection; null once detached.
    async fn connection_id(&self) -> Option<ID> {
        self.connection_id.map(|id| encode(Kind::Connection, id))
    }
    /// Its full name.
    async fn full_name(&self) -> &str {
        &self.full_name
    }
    /// The repository as it is now.
    async fn repository(&self, ctx: &Context<'_>) -> ApiResult<Option<RepositoryNode>> {
        let state = state(ctx)?;
        Ok(repository::Entity::find_in_org(self.organization)
            .filter(repository::Column::Id.eq(self.repository_id))
            .one(&state.db)
            .await?
            .map(RepositoryNode))
    }
}
