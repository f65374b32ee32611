//! The organization's repositories and their findings: lookups and the filtered listing.

use crate::auth::Viewer;
use crate::graphql::errors::ApiError;
use entities::repository_connection as link;
use entities::{RepositoryState, finding, repository};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, QueryFilter, Select};
use uuid::Uuid;

/// Longest search term, in characters.
pub const MAX_SEARCH: usize = 200;

/// A case-insensitive substring of a repository's full name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerm(String);

impl SearchTerm {
    /// Trims and lowercases `raw`; `None` when nothing is left.
    pub fn parse(raw: &str) -> Result<Option<Self>, ApiError> {
        let term = raw.trim().to_lowercase();
        if term.is_empty() {
            return Ok(None);
        }
        if term.chars().count() > MAX_SEARCH {
            return Err(ApiError::BadUserInput(format!(
                "search is longer than {MAX_SEARCH} characters"
            )));
        }
        Ok(Some(Self(term)))
    }

    /// A LIKE pattern matching the term anywhere, its own `%`, `_` and `\` taken literally
    /// (with `\` as the escape character).
    fn like_pattern(&self) -> String {
        let escaped = self
            .0
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    }
}

/// Which repositories a listing asks for.
#[derive(Debug, Clone, Default)]
pub struct RepositoryFilter {
    /// Only this connection's.
    pub connection: Option<Uuid>,
    /// Only those in this state.
    pub state: Option<RepositoryState>,
    /// Only those whose full name contains this.
    pub search: Option<SearchTerm>,
}

/// The viewer's organization's repositories matching `filter`, as a query to paginate.
pub fn select(viewer: &Viewer, filter: &RepositoryFilter) -> Select<repository::Entity> {
    let mut select = repository::Entity::find_in_org(viewer.organization_id);
    if let Some(connection) = filter.connection {
        select = select.filter(of_connection(connection));
    }
    if let Some(state) = filter.state {
        select = select.filter(repository::Column::State.eq(state));
    }
    if let Some(term) = &filter.search {
        select = select.filter(
            Condition::all().add(
                Expr::expr(Func::lower(Expr::col(repository::Column::FullName)))
                    .like(LikeExpr::new(term.like_pattern()).escape('\\')),
            ),
        );
    }
    select
}

/// The repositories `connection` lists, and those it listed last before they went gone (a
/// repository another connection still lists is that one's, not this one's).
fn of_connection(connection: Uuid) -> Condition {
    let links = |listed_only: bool| {
        let mut query = Query::select();
        query
            .column(link::Column::RepositoryId)
            .from(link::Entity)
            .and_where(link::Column::ConnectionId.eq(connection));
        if listed_only {
            query.and_where(link::Column::Listed.eq(true));
        }
        query.to_owned()
    };
    Condition::any()
        .add(repository::Column::Id.in_subquery(links(true)))
        .add(
            Condition::all()
                .add(repository::Column::State.eq(RepositoryState::Gone))
                .add(repository::Column::Id.in_subquery(links(false))),
        )
}

/// One repository of the viewer's organization, or NOT_FOUND.
pub async fn find(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<repository::Model, ApiError> {
    repository::Entity::find_in_org(viewer.organization_id)
        .filter(repository::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// A repository's findings, as a query to paginate (empty for another organization's).
pub fn findings_of(viewer: &Viewer, repository: Uuid) -> Select<finding::Entity> {
    finding::Entity::find_in_org(viewer.organization_id)
        .filter(finding::Column::RepositoryId.eq(repository))
}

/// One finding of the viewer's organization, or NOT_FOUND.
pub async fn find_finding(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<finding::Model, ApiError> {
    finding::Entity::find_in_org(viewer.organization_id)
        .filter(finding::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_trimmed_lowercased_and_bounded() {
        assert_eq!(SearchTerm::parse("   ").unwrap(), None);
        let term = SearchTerm::parse("  Api-Gateway ").unwrap().unwrap();
        assert_eq!(term.like_pattern(), "%api-gateway%");
        assert!(SearchTerm::parse(&"é".repeat(MAX_SEARCH)).is_ok());
        assert!(matches!(
            SearchTerm::parse(&"x".repeat(MAX_SEARCH + 1)),
            Err(ApiError::BadUserInput(_))
        ));
    }

    #[test]
    fn like_wildcards_in_a_search_are_literal() {
        let term = SearchTerm::parse(r"50%_off\").unwrap().unwrap();
        assert_eq!(term.like_pattern(), r"%50\%\_off\\%");
    }
}
