//! Tether's API: configuration, HTTP and GraphQL, authentication, and the `tether` commands.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod graphql;
pub mod http;
pub mod keys;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
