//! Tether's HTTP layer: our own GraphQL-over-HTTP handler, health checks, webhooks, request
//! logging.

pub mod assets;
pub mod dashboard;
pub mod github;
pub mod graphql;
pub mod health;
pub mod limits;
pub mod media;
pub mod subscriptions;
pub mod tracing_span;
pub mod webhooks;
