//! Relay cursor pagination over any entity with a time-ordered uuid primary key.

use super::errors::{ApiError, ApiResult};
use super::ids::IdCursor;
use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::{Object, OutputType};
use futures::future::BoxFuture;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use std::sync::Arc;

/// Page size when `first` is omitted.
pub const DEFAULT_PAGE: u64 = 50;
/// Largest page.
pub const MAX_PAGE: i32 = 100;

/// Counts what a listing matches, across all pages.
type Count = Arc<dyn Fn() -> BoxFuture<'static, Result<u64, DbErr>> + Send + Sync>;

/// Extra fields on every connection type. The count is a query of its own over every matching
/// row, so it runs only when `totalCount` is selected.
#[derive(Clone)]
pub struct Totals {
    count: Count,
}

#[Object]
impl Totals {
    /// How many items match, across all pages.
    async fn total_count(&self) -> ApiResult<u64> {
        Ok((self.count)().await?)
    }
}

/// A page of `N`.
pub type Page<N> = Connection<IdCursor, N, Totals>;

/// Validated forward-pagination arguments.
#[derive(Debug, Clone, Copy)]
pub struct PageArgs {
    first: u64,
    after: Option<IdCursor>,
}

impl PageArgs {
    /// Checks `first` (1–100) and decodes `after`.
    pub fn parse(first: Option<i32>, after: Option<String>) -> ApiResult<Self> {
        let first = match first {
            None => DEFAULT_PAGE,
            Some(n) if (1..=MAX_PAGE).contains(&n) => n as u64,
            Some(n) => {
                return Err(ApiError::BadUserInput(format!(
                    "first must be between 1 and {MAX_PAGE} (got {n})"
                )));
            }
        };
        let after = after
            .map(|c| IdCursor::decode_cursor(&c))
            .transpose()
            .map_err(|_| ApiError::BadUserInput("after is not a valid cursor".into()))?;
        Ok(Self { first, after })
    }
}

/// Lists `select` by ascending `id`, one page after the cursor, mapping rows to nodes.
pub async fn paginate<E, N>(
    db: &DatabaseConnection,
    select: Select<E>,
    id: E::Column,
    args: PageArgs,
    key: impl Fn(&E::Model) -> uuid::Uuid,
    to_node: impl Fn(E::Model) -> N,
) -> ApiResult<Page<N>>
where
    E: EntityTrait,
    E::Model: Sync,
    N: OutputType,
{
    paginate_in(db, select, id, args, Order::OldestFirst, key, to_node).await
}

/// Which way a page runs.
#[derive(Clone, Copy, Debug)]
pub enum Order {
    /// Ascending ids (oldest first for time-ordered ids).
    OldestFirst,
    /// Descending ids (newest first).
    NewestFirst,
}

/// Lists `select` by `id` in `order`, one page after the cursor, mapping rows to nodes.
pub async fn paginate_in<E, N>(
    db: &DatabaseConnection,
    select: Select<E>,
    id: E::Column,
    args: PageArgs,
    order: Order,
    key: impl Fn(&E::Model) -> uuid::Uuid,
    to_node: impl Fn(E::Model) -> N,
) -> ApiResult<Page<N>>
where
    E: EntityTrait,
    E::Model: Sync,
    N: OutputType,
{
    let count: Count = {
        let (db, select) = (db.clone(), select.clone());
        Arc::new(move || {
            let (db, select) = (db.clone(), select.clone());
            Box::pin(async move { select.count(&db).await })
        })
    };
    let mut query = match order {
        Order::OldestFirst => select.order_by_asc(id),
        Order::NewestFirst => select.order_by_desc(id),
    }
    .limit(args.first + 1);
    if let Some(IdCursor(after)) = args.after {
        query = match order {
            Order::OldestFirst => query.filter(id.gt(after)),
            Order::NewestFirst => query.filter(id.lt(after)),
        };
    }
    let mut rows = query.all(db).await?;
    let has_next = rows.len() as u64 > args.first;
    rows.truncate(args.first as usize);
    let mut page =
        Connection::with_additional_fields(args.after.is_some(), has_next, Totals { count });
    for row in rows {
        page.edges
            .push(Edge::new(IdCursor(key(&row)), to_node(row)));
    }
    Ok(page)
}
