//! The GraphQL schema: queries and mutations merged per domain, limits, loaders.

pub mod auth_mutations;
pub mod connection_mutations;
pub mod context;
pub mod dashboard;
pub mod errors;
pub mod github_mutations;
pub mod ids;
pub mod loaders;
pub mod pagination;
pub mod query;
pub mod subscriptions;
pub mod types;

use crate::config::GraphqlLimits;
use crate::state::AppState;
use async_graphql::dataloader::DataLoader;
use async_graphql::{MergedObject, Schema, SchemaBuilder};
use subscriptions::SubscriptionRoot;

/// All mutations.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    auth_mutations::AuthMutations,
    connection_mutations::ConnectionMutations,
    github_mutations::LinkedAccountMutations,
    dashboard::DashboardMutations,
);

/// All queries.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(query::CoreQuery, dashboard::DashboardQuery);

/// Tether's schema.
pub type TetherSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
}

/// Builds the schema over `state` with `limits`.
pub fn build(state: AppState, limits: &GraphqlLimits) -> TetherSchema {
    let mut schema = builder()
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(64)
        .data(DataLoader::new(
            loaders::ConnectionLoader(state.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            loaders::RepositoryCountLoader(state.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            loaders::RepositoryConnectionsLoader(state.clone()),
            tokio::spawn,
        ))
        .data(state);
    if !limits.introspection {
        schema = schema.disable_introspection();
    }
    schema.finish()
}

/// The SDL of the schema (what `schema.graphql` must equal).
pub fn sdl() -> String {
    builder().finish().sdl()
}
