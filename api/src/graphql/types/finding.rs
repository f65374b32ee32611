//! The `Finding` GraphQL type.

use crate::graphql::ids::{Kind, encode};
use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use entities::finding;

/// A result of the analysis engine.
pub struct FindingNode(pub finding::Model);

#[Object(name = "Finding")]
impl FindingNode {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(Kind::Finding, self.0.id)
    }
    /// Short title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Severity as the engine reported it.
    async fn severity(&self) -> &str {
        &self.0.severity
    }
    /// File path.
    async fn path(&self) -> Option<&str> {
        self.0.path.as_deref()
    }
    /// Line number.
    async fn line(&self) -> Option<i32> {
        self.0.line
    }
    /// Details.
    async fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
