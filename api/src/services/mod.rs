//! Business operations behind the resolvers (and the CLI): accounts and connections.

pub mod accounts;
pub mod connections;
