//! Tether's schema migrations, one file per change, each with `down()`.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_tenancy;
mod m20261125_000002_create_connections;
mod m20261125_000003_add_discovery_scheduling;
mod m20261126_000004_reorder_repository_key;
mod m20261201_000005_add_github_flow;
mod m20261201_000006_add_run_provider;
mod m20261201_000007_add_repository_disabled;
mod m20261201_000008_link_repositories_to_connections;

/// Runs Tether's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_tenancy::Migration),
            Box::new(m20261125_000002_create_connections::Migration),
            Box::new(m20261125_000003_add_discovery_scheduling::Migration),
            Box::new(m20261126_000004_reorder_repository_key::Migration),
            Box::new(m20261201_000005_add_github_flow::Migration),
            Box::new(m20261201_000006_add_run_provider::Migration),
            Box::new(m20261201_000007_add_repository_disabled::Migration),
            Box::new(m20261201_000008_link_repositories_to_connections::Migration),
        ]
    }
}
