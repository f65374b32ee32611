//! Tether's API integration suite: the real binary's application on a random port, real SQLite
//! and PostgreSQL databases and Redis, provider APIs faked over loopback (wiremock, and the fake
//! code host for whole scopes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app_logs;
mod helpers;

mod auth;
mod browser;
mod connections_azure;
mod connections_bitbucket;
mod connections_github;
mod connections_gitlab;
mod dashboard;
mod deletion;
mod discovery_fake;
mod discovery_gitlab;
mod discovery_providers;
mod discovery_robustness;
mod embedded_load;
mod fixtures;
mod github_flow;
mod github_link;
mod github_webhooks;
mod graphql_http;
mod hostile_providers;
mod housekeeping;
mod migrations;
mod overlapping_scopes;
mod providers;
mod schema;
mod secrets;
mod sqlite_with_redis;
mod subscriptions;
mod tenancy;
